// Every HTTP operation Lectern serves, described once for the OpenAPI document (openapi-document.ts): its
// request schemas are the zod contracts the routes validate with, so the document cannot drift from what the
// server accepts; tests/http/openapi.test.ts checks that every mounted route is listed here.
import { z } from 'zod';
import { AdminUserUpdateBody, AdminUsersQuery, AuditQuery } from '../../contracts/admin.ts';
import {
  AccountDeleteBody,
  ForgotPasswordBody,
  HandOverBody,
  PasswordChangeBody,
  ProfileUpdateBody,
  ResetPasswordBody,
  VerifyEmailBody,
} from '../../contracts/account.ts';
import { LoginBody, RegisterBody } from '../../contracts/auth.ts';
import {
  CatalogQuery,
  CourseCreateBody,
  CourseUpdateBody,
  LessonCreateBody,
  LessonOrderBody,
  LessonUpdateBody,
} from '../../contracts/courses.ts';
import { AcceptInvitationBody, InvitationRegisterBody, InviteBody } from '../../contracts/invitations.ts';
import { MailPreferencesBody, UnsubscribeBody } from '../../contracts/mail.ts';
import { ProgressBody } from '../../contracts/progress.ts';
import { ClassCreateBody, ClassUpdateBody, ScheduleQuery } from '../../contracts/schedule.ts';
import { ChapterCreate, ChapterUpdate } from '../../contracts/timeline.ts';
import { CaptionTrackQuery } from '../../hls/caption-tracks.ts';

/** Who may call an operation (shown as its security and in its description). */
export type Audience = 'anyone' | 'session' | 'admin' | 'operator' | 'media-token' | 'stream-key' | 'viewer';

/** What an operation answers with on success. */
export type Produces =
  'json' | 'csv' | 'calendar' | 'hls' | 'image' | 'video' | 'text' | 'html' | 'prometheus' | 'redirect' | 'sdp' | 'none';

export interface ApiOperation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Hono's pattern, as mounted: /api/courses/:courseId */
  path: string;
  tag: string;
  summary: string;
  audience: Audience;
  produces: Produces;
  /** The JSON body it validates (application/json), 'binary' for a raw upload, 'sdp' for a WHIP offer. */
  body?: z.ZodType | 'binary' | 'sdp';
  query?: z.ZodObject;
  /** Success status when not 200. */
  status?: 201 | 204 | 303;
}

const TokenQuery = z.object({ token: z.string().min(10).max(400) });
const MediaTokenQuery = z.object({ token: z.string().describe('The signed media token of the URL the API handed out') });

const op = (
  method: ApiOperation['method'],
  path: string,
  tag: string,
  summary: string,
  audience: Audience,
  extra: Partial<Omit<ApiOperation, 'method' | 'path' | 'tag' | 'summary' | 'audience'>> = {},
): ApiOperation => ({ method, path, tag, summary, audience, produces: 'json', ...extra });

/** The HLS files of one rendition set (a live class, a recording, a lesson video) under `base`. */
const hlsOperations = (base: string, tag: string, what: string): ApiOperation[] => [
  op('get', `${base}/master.m3u8`, tag, `Master playlist of ${what}`, 'media-token', { produces: 'hls', query: MediaTokenQuery }),
  op(
    'get',
    `${base}/:rung/index.m3u8`,
    tag,
    `Media playlist of one rendition of ${what} (LL-HLS blocking reload with _HLS_msn/_HLS_part)`,
    'media-token',
    {
      produces: 'hls',
      query: MediaTokenQuery,
    },
  ),
  op('get', `${base}/:rung/:file`, tag, `A segment or init file of ${what}`, 'media-token', { produces: 'hls', query: MediaTokenQuery }),
];

/** A caption track's upload and removal under `apiBase` and its WebVTT file under `mediaBase` (`whose`: "a replay's"). */
const captionOperations = (apiBase: string, mediaBase: string, tag: string, whose: string): ApiOperation[] => [
  op('put', `${apiBase}/captions`, tag, `Upload ${whose} captions (.vtt or .srt, kept as WebVTT)`, 'session', {
    body: 'binary',
    query: CaptionTrackQuery,
  }),
  op('delete', `${apiBase}/captions`, tag, `Remove ${whose} captions`, 'session'),
  op('get', `${mediaBase}/captions.vtt`, tag, `${whose[0]!.toUpperCase()}${whose.slice(1)} captions (WebVTT)`, 'media-token', {
    produces: 'text',
    query: MediaTokenQuery,
  }),
];

/** The same operations with the signed token in the path instead of the query (players that drop query strings). */
const tokenInPath = (ops: ApiOperation[]): ApiOperation[] => ops.map((o) => ({ ...o, audience: 'anyone' as const, query: undefined }));

export const API_OPERATIONS: ApiOperation[] = [
  // Operations
  op(
    'get',
    '/health',
    'Operations',
    'Overall status (200 ok, 503 degraded); the parts in detail for an admin or the metrics token',
    'anyone',
  ),
  op('get', '/health/live', 'Operations', 'Liveness: the process answers', 'anyone'),
  op('get', '/health/ready', 'Operations', 'Readiness: database, a mediasoup worker, not shutting down (else 503)', 'anyone'),
  op('get', '/metrics', 'Operations', 'Prometheus metrics (from this machine, or with the metrics token)', 'operator', {
    produces: 'prometheus',
  }),
  op('get', '/api/openapi.json', 'Operations', 'This OpenAPI document', 'anyone'),
  op('get', '/api/docs', 'Operations', 'The API reference page for this document', 'anyone', { produces: 'html' }),
  // Administration
  op('get', '/api/admin/users', 'Administration', 'Accounts with their roles: search, filter by role, pages', 'admin', {
    query: AdminUsersQuery,
  }),
  op('patch', '/api/admin/users/:userId', 'Administration', 'Change a role, disable (ends its sessions) or enable an account', 'admin', {
    body: AdminUserUpdateBody,
  }),
  op('get', '/api/admin/live-classes', 'Administration', 'Classes live now: viewers, bitrate, loss, RTT, HLS bridge', 'admin'),
  op('get', '/api/admin/failures', 'Administration', 'Recent failed recordings and transcodes with their reasons', 'admin'),
  op('get', '/api/admin/audit', 'Administration', 'What admins and moderators did, newest first', 'admin', { query: AuditQuery }),
  // Accounts
  op('post', '/api/auth/register', 'Accounts', 'Create an account (student or teacher) and log in', 'anyone', {
    body: RegisterBody,
    status: 201,
  }),
  op('post', '/api/auth/login', 'Accounts', 'Log in with email and password', 'anyone', { body: LoginBody }),
  op('post', '/api/auth/logout', 'Accounts', 'Log out (ends this session)', 'session'),
  op('get', '/api/auth/me', 'Accounts', 'The logged-in user', 'session'),
  op('post', '/api/account/verification', 'Accounts', 'Mail the address confirmation link again', 'session'),
  op('post', '/api/account/verify-email', 'Accounts', 'Confirm the address with the mailed token', 'anyone', { body: VerifyEmailBody }),
  op(
    'post',
    '/api/account/forgot-password',
    'Accounts',
    'Mail a password reset link (same answer whether or not the address has an account)',
    'anyone',
    {
      body: ForgotPasswordBody,
    },
  ),
  op('post', '/api/account/reset-password', 'Accounts', 'Choose a new password with the mailed token (ends every session)', 'anyone', {
    body: ResetPasswordBody,
  }),
  op('get', '/api/account', 'Accounts', 'The profile', 'session'),
  op('patch', '/api/account', 'Accounts', 'Change the display name', 'session', { body: ProfileUpdateBody }),
  op('delete', '/api/account', 'Accounts', 'Delete the account (password required)', 'session', { body: AccountDeleteBody }),
  op('put', '/api/account/password', 'Accounts', 'Change the password (ends the other sessions)', 'session', { body: PasswordChangeBody }),
  op('put', '/api/account/avatar', 'Accounts', 'Upload a profile picture (JPEG, PNG or WebP)', 'session', { body: 'binary' }),
  op('delete', '/api/account/avatar', 'Accounts', 'Remove the profile picture', 'session'),
  op('get', '/api/account/sessions', 'Accounts', 'The devices logged in to the account', 'session'),
  op('delete', '/api/account/sessions/:sessionId', 'Accounts', 'Log one device out', 'session'),
  op('get', '/api/users/:userId/avatar', 'Accounts', "A user's profile picture", 'anyone', { produces: 'image' }),
  op('get', '/api/account/mail-preferences', 'Mail', 'Which notices the account receives', 'session'),
  op('put', '/api/account/mail-preferences', 'Mail', 'Switch notices on or off', 'session', { body: MailPreferencesBody }),
  op('get', '/api/mail/unsubscribe', 'Mail', 'What an unsubscribe link would switch off', 'anyone', { query: TokenQuery }),
  op('post', '/api/mail/unsubscribe', 'Mail', 'Unsubscribe with a link token', 'anyone', { body: UnsubscribeBody }),
  op('post', '/mail/unsubscribe', 'Mail', 'RFC 8058 one-click unsubscribe (posted by mail clients)', 'anyone', {
    produces: 'text',
    query: TokenQuery,
  }),
  op('get', '/mail/unsubscribe', 'Mail', 'The unsubscribe link: redirects to the unsubscribe page', 'anyone', {
    produces: 'redirect',
    query: TokenQuery,
    status: 303,
  }),
  // Courses and lessons
  op('get', '/api/courses', 'Courses', 'The catalog: search, filters, pages', 'anyone', { query: CatalogQuery }),
  op('post', '/api/courses', 'Courses', 'Create a course', 'session', { body: CourseCreateBody, status: 201 }),
  op('get', '/api/courses/:courseId', 'Courses', 'A course with its lessons and classes', 'anyone'),
  op('patch', '/api/courses/:courseId', 'Courses', 'Change a course', 'session', { body: CourseUpdateBody }),
  op('delete', '/api/courses/:courseId', 'Courses', 'Delete a course', 'session'),
  op('get', '/api/courses/:courseId/storage', 'Courses', "What the course's replays and lesson videos take on disk", 'session'),
  op('post', '/api/courses/:courseId/lessons', 'Courses', 'Add a lesson', 'session', { body: LessonCreateBody, status: 201 }),
  op('put', '/api/courses/:courseId/lesson-order', 'Courses', 'Reorder the lessons', 'session', { body: LessonOrderBody }),
  op('post', '/api/courses/:courseId/enrollment', 'Courses', 'Enroll in a course', 'session'),
  op('delete', '/api/courses/:courseId/enrollment', 'Courses', 'Leave a course', 'session'),
  op('post', '/api/courses/:courseId/handover', 'Courses', 'Hand a course over to another teacher', 'session', { body: HandOverBody }),
  op('post', '/api/courses/:courseId/invitations', 'Invitations', 'Invite people by address', 'session', { body: InviteBody, status: 201 }),
  op('get', '/api/courses/:courseId/invitations', 'Invitations', "A course's invitations", 'session'),
  op('delete', '/api/courses/:courseId/invitations/:invitationId', 'Invitations', 'Revoke an invitation', 'session'),
  op('get', '/api/invitations/:token', 'Invitations', 'What an invitation link offers', 'anyone'),
  op('post', '/api/invitations/accept', 'Invitations', 'Accept an invitation (enrolls)', 'session', { body: AcceptInvitationBody }),
  op('post', '/api/invitations/register', 'Invitations', 'Create an account from an invitation and accept it', 'anyone', {
    body: InvitationRegisterBody,
    status: 201,
  }),
  op('get', '/api/lessons/:lessonId', 'Courses', 'A lesson (with signed media URLs for those who may watch it)', 'anyone'),
  op('patch', '/api/lessons/:lessonId', 'Courses', 'Change a lesson', 'session', { body: LessonUpdateBody }),
  op('delete', '/api/lessons/:lessonId', 'Courses', 'Delete a lesson', 'session'),
  op('get', '/api/lessons/:lessonId/progress', 'Progress', "The student's position and completion in a lesson", 'session'),
  op('put', '/api/lessons/:lessonId/progress', 'Progress', "Save the student's position", 'session', { body: ProgressBody }),
  op('get', '/api/lessons/:lessonId/video', 'Lesson videos', "The lesson video's state (processing, ready, failed)", 'session'),
  op('put', '/api/lessons/:lessonId/video', 'Lesson videos', 'Upload the lesson video (transcoded to HLS in the background)', 'session', {
    body: 'binary',
    status: 201,
  }),
  op('delete', '/api/lessons/:lessonId/video', 'Lesson videos', 'Remove the lesson video', 'session'),
  ...captionOperations('/api/lessons/:lessonId', '/media/lessons/:lessonId', 'Lesson videos', "the lesson video's"),
  ...hlsOperations('/media/lessons/:lessonId/hls', 'Lesson videos', 'a lesson video'),
  // The same with the signed token in the path, as the API signs lesson URLs (the ?token= form above still answers)
  ...tokenInPath(hlsOperations('/media/t/:token/lessons/:lessonId/hls', 'Lesson videos', 'a lesson video (token in the path)')),
  op(
    'get',
    '/media/t/:token/lessons/:lessonId/captions.vtt',
    'Lesson videos',
    "The lesson video's captions (token in the path)",
    'anyone',
    {
      produces: 'text',
    },
  ),
  // Live classes and schedule
  op('post', '/api/courses/:courseId/classes', 'Classes', 'Schedule a live class', 'session', { body: ClassCreateBody, status: 201 }),
  op('get', '/api/classes/:classId/schedule', 'Classes', "A class's schedule", 'anyone'),
  op('patch', '/api/classes/:classId', 'Classes', 'Move or rename a class', 'session', { body: ClassUpdateBody }),
  op('post', '/api/classes/:classId/cancel', 'Classes', 'Cancel a class (enrolled students are told)', 'session'),
  op('get', '/api/classes/:classId/calendar.ics', 'Classes', 'The class as an iCalendar event', 'anyone', { produces: 'calendar' }),
  op('get', '/api/schedule', 'Classes', 'Classes coming up for the user', 'session', { query: ScheduleQuery }),
  op('get', '/api/schedule/calendar.ics', 'Classes', 'Classes coming up as an iCalendar feed', 'session', {
    produces: 'calendar',
    query: ScheduleQuery,
  }),
  op('get', '/api/classes/:classId/polls.csv', 'Classes', "A class's poll results as CSV", 'session', { produces: 'csv' }),
  op('get', '/api/classes/:classId/analytics', 'Analytics', 'Attendance and participation of a class', 'session'),
  op('get', '/api/classes/:classId/analytics.csv', 'Analytics', 'Attendance of a class as CSV', 'session', { produces: 'csv' }),
  op('get', '/api/courses/:courseId/analytics', 'Analytics', 'Progress and attendance of a course', 'session'),
  op('get', '/api/courses/:courseId/analytics.csv', 'Analytics', 'Progress of a course as CSV', 'session', { produces: 'csv' }),
  // Live and recorded media
  op('get', '/api/media/classes/:classId/live', 'Media', "The live class's HLS state and a signed URL", 'session'),
  op('get', '/api/media/classes/:classId/recordings', 'Media', "A class's recordings", 'session'),
  op('get', '/api/media/recordings/:recordingId', 'Media', 'A recording with a signed URL', 'session'),
  op('get', '/api/courses/:courseId/storage', 'Courses', 'What the course stores: recordings and lesson videos, in bytes', 'session'),
  op('delete', '/api/media/recordings/:recordingId', 'Media', 'Delete a replay with all its files (teacher, admins)', 'session'),
  ...captionOperations('/api/media/recordings/:recordingId', '/media/recordings/:recordingId', 'Media', "a replay's"),
  op('get', '/media/t/:token/recordings/:recordingId/captions.vtt', 'Media', "A replay's captions (token in the path)", 'anyone', {
    produces: 'text',
  }),
  // A replay's timeline (the class's chat, questions and polls where they happened) and chapters
  op(
    'get',
    '/api/media/recordings/:recordingId/timeline',
    'Media',
    "A replay's chat, questions, polls, chapters and gaps, in replay time",
    'session',
  ),
  op('post', '/api/media/recordings/:recordingId/chapters', 'Media', 'Add a chapter to a replay (its teacher or an admin)', 'session', {
    body: ChapterCreate,
    status: 201,
  }),
  op('patch', '/api/media/recordings/:recordingId/chapters/:chapterId', 'Media', "Rename or move a replay's chapter", 'session', {
    body: ChapterUpdate,
  }),
  op('delete', '/api/media/recordings/:recordingId/chapters/:chapterId', 'Media', "Delete a replay's chapter", 'session'),
  op('get', '/media/recordings/:recordingId/chapters.vtt', 'Media', "A replay's chapters (WebVTT chapters track)", 'media-token', {
    produces: 'text',
    query: MediaTokenQuery,
  }),
  op('get', '/media/t/:token/recordings/:recordingId/chapters.vtt', 'Media', "A replay's chapters (token in the path)", 'anyone', {
    produces: 'text',
  }),
  ...hlsOperations('/media/classes/:classId/live', 'Media', 'a live class'),
  ...hlsOperations('/media/recordings/:recordingId', 'Media', 'a recording'),
  // The same files with the signed token in the path (players that drop query strings)
  ...tokenInPath(hlsOperations('/media/t/:token/classes/:classId/live', 'Media', 'a live class (token in the path)')),
  ...tokenInPath(hlsOperations('/media/t/:token/recordings/:recordingId', 'Media', 'a recording (token in the path)')),
  op('get', '/media/t/:token/recordings/:recordingId/thumbnail.jpg', 'Media', "A recording's thumbnail (token in the path)", 'anyone', {
    produces: 'image',
  }),
  // Encoders (WHIP, RFC 9725) and the class's stream key
  op(
    'post',
    '/api/classes/:classId/whip',
    'Encoders',
    'WHIP: publish the class from an encoder (SDP offer in, SDP answer out)',
    'stream-key',
    {
      body: 'sdp',
      produces: 'sdp',
      status: 201,
    },
  ),
  op(
    'delete',
    '/api/classes/:classId/whip/:sessionId',
    'Encoders',
    'WHIP: the encoder stops (on any node: relayed to the one holding the session)',
    'stream-key',
  ),
  op(
    'patch',
    '/api/classes/:classId/whip/:sessionId',
    'Encoders',
    'WHIP trickle ICE: not supported (405; the answer carries every candidate)',
    'stream-key',
  ),
  // Players (WHEP)
  op('post', '/api/classes/:classId/whep', 'Players', 'WHEP: watch the live class (SDP offer in, SDP answer out)', 'viewer', {
    body: 'sdp',
    produces: 'sdp',
    status: 201,
  }),
  op(
    'delete',
    '/api/classes/:classId/whep/:sessionId',
    'Players',
    'WHEP: the viewer leaves (on any node: relayed to the one holding the session)',
    'viewer',
  ),
  op(
    'patch',
    '/api/classes/:classId/whep/:sessionId',
    'Players',
    'WHEP trickle ICE: not supported (405; the answer carries every candidate)',
    'viewer',
  ),
  op('post', '/api/classes/:classId/stream-key', 'Encoders', "Make a new stream key for the class's encoder", 'session'),
  op('get', '/api/classes/:classId/encoder', 'Encoders', "The class's encoder: key made when, session, statistics", 'session'),
  op('delete', '/api/classes/:classId/encoder', 'Encoders', 'End the encoder broadcast', 'session'),
  op('get', '/media/recordings/:recordingId/thumbnail.jpg', 'Media', "A recording's thumbnail", 'media-token', {
    produces: 'image',
    query: MediaTokenQuery,
  }),
  op(
    'get',
    '/media/recordings/:recordingId/download.mp4',
    'Media',
    'The replay as one MP4 (H.264 + AAC), once made; answers Range requests with 206',
    'media-token',
    { produces: 'video', query: MediaTokenQuery },
  ),
  op(
    'get',
    '/media/t/:token/recordings/:recordingId/download.mp4',
    'Media',
    'The replay as one MP4 (token in the path); answers Range requests with 206',
    'anyone',
    { produces: 'video' },
  ),
];
