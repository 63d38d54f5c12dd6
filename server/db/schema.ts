// The whole domain in one schema; migrations in drizzle/ are generated from it (npm run db:generate).
// Unique constraints stand wherever a duplicate would be a bug (one vote per user per poll, one upvote per
// user per question, one enrollment per user per course).
import { sql } from 'drizzle-orm';
import { CLASS_STATUSES } from '../contracts/live-class.ts';
import { DOWNLOAD_STATUSES } from '../contracts/media.ts';
import {
  boolean,
  check,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  bigint,
  jsonb,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const tz = (name: string) => timestamp(name, { withTimezone: true });
/** A required reference to another row: deleting that row deletes this one (or, with 'restrict', is refused while it exists). */
const ownedBy = (name: string, target: () => AnyPgColumn, onDelete: 'cascade' | 'restrict' = 'cascade') =>
  uuid(name).notNull().references(target, { onDelete });

export const userRole = pgEnum('user_role', ['student', 'teacher', 'admin']);
export const classStatus = pgEnum('class_status', CLASS_STATUSES);
export const recordingStatus = pgEnum('recording_status', ['recording', 'processing', 'ready', 'failed']);
export const downloadStatus = pgEnum('download_status', DOWNLOAD_STATUSES);
export const questionStatus = pgEnum('question_status', ['open', 'answered', 'dismissed']);
export const pollKind = pgEnum('poll_kind', ['single', 'multiple']);
export const pollStatus = pgEnum('poll_status', ['open', 'closed']);
export const viewerMode = pgEnum('viewer_mode', ['webrtc', 'hls']);
/** An uploaded lesson video: none yet, being transcoded, playable, or the last attempt failed. */
export const lessonVideoStatus = pgEnum('lesson_video_status', ['none', 'processing', 'ready', 'failed']);
export const transcodeStatus = pgEnum('transcode_status', ['queued', 'running', 'ready', 'failed']);

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    displayName: text('display_name').notNull(),
    passwordHash: text('password_hash').notNull(),
    role: userRole('role').notNull().default('student'),
    createdAt: createdAt(),
    /** When the person proved they read mail at `email` (a verification, reset or invitation link) */
    emailVerifiedAt: tz('email_verified_at'),
    /** The re-encoded profile picture, relative to the data directory */
    avatarPath: text('avatar_path'),
    /** Set when the account was deleted: the row stays, anonymised, so chat and votes keep an author */
    deletedAt: tz('deleted_at'),
    /** Set while an admin has disabled the account: it cannot log in and had its sessions ended */
    disabledAt: tz('disabled_at'),
  },
  (t) => [uniqueIndex('users_email_unique').on(sql`lower(${t.email})`)],
);

/**
 * One-time links sent by mail (address verification, password reset): like session tokens, only the SHA-256
 * of the token is stored, and using one deletes it.
 */
export const accountTokenPurpose = pgEnum('account_token_purpose', ['verify_email', 'reset_password']);
export const accountTokens = pgTable(
  'account_tokens',
  {
    id: text('id').primaryKey(),
    userId: ownedBy('user_id', () => users.id),
    purpose: accountTokenPurpose('purpose').notNull(),
    expiresAt: tz('expires_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('account_tokens_user_idx').on(t.userId, t.purpose)],
);

export const sessions = pgTable(
  'sessions',
  {
    /** SHA-256 of the session token, hex: the token itself is never stored. */
    id: text('id').primaryKey(),
    userId: ownedBy('user_id', () => users.id),
    expiresAt: tz('expires_at').notNull(),
    createdAt: createdAt(),
    userAgent: text('user_agent'),
    ip: text('ip'),
    /** Last request seen with this session (updated at most every few minutes), for the sessions list */
    lastSeenAt: tz('last_seen_at').notNull().defaultNow(),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

export const courses = pgTable(
  'courses',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    teacherId: ownedBy('teacher_id', () => users.id, 'restrict'),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    thumbnailUrl: text('thumbnail_url'),
    priceCents: integer('price_cents').notNull().default(0),
    currency: text('currency').notNull().default('EUR'),
    published: boolean('published').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('courses_teacher_idx').on(t.teacherId),
    check('courses_price_nonneg', sql`${t.priceCents} >= 0`),
    // Catalog search: the same expression as CourseCatalog's query (server/courses/course-search.ts).
    index('courses_search_idx').using('gin', sql`to_tsvector('english', ${t.title} || ' ' || ${t.description})`),
  ],
);

export const lessons = pgTable(
  'lessons',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    courseId: ownedBy('course_id', () => courses.id),
    position: integer('position').notNull(),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    durationSeconds: integer('duration_seconds').notNull().default(0),
    videoStatus: lessonVideoStatus('video_status').notNull().default('none'),
    /** HLS master playlist of the uploaded video, relative to the data directory */
    videoPath: text('video_path'),
    /** Why the last upload or transcode failed, in words a teacher can act on */
    videoError: text('video_error'),
    createdAt: createdAt(),
  },
  (t) => [index('lessons_course_position_idx').on(t.courseId, t.position)],
);

export const enrollments = pgTable(
  'enrollments',
  {
    userId: ownedBy('user_id', () => users.id),
    courseId: ownedBy('course_id', () => courses.id),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.courseId] }), index('enrollments_course_idx').on(t.courseId)],
);

export const liveClasses = pgTable(
  'live_classes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    courseId: ownedBy('course_id', () => courses.id),
    lessonId: uuid('lesson_id').references(() => lessons.id, { onDelete: 'set null' }),
    teacherId: ownedBy('teacher_id', () => users.id, 'restrict'),
    title: text('title').notNull(),
    scheduledAt: tz('scheduled_at').notNull(),
    /** IANA zone the teacher scheduled in: the wall time shown to them and written into .ics files */
    timeZone: text('time_zone').notNull().default('UTC'),
    durationMinutes: integer('duration_minutes').notNull().default(60),
    description: text('description').notNull().default(''),
    cancelledAt: tz('cancelled_at'),
    startedAt: tz('started_at'),
    endedAt: tz('ended_at'),
    status: classStatus('status').notNull().default('scheduled'),
    peakViewers: integer('peak_viewers').notNull().default(0),
    totalViewers: integer('total_viewers').notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [index('live_classes_course_idx').on(t.courseId), index('live_classes_status_scheduled_idx').on(t.status, t.scheduledAt)],
);

export const attendance = pgTable(
  'attendance',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    classId: ownedBy('class_id', () => liveClasses.id),
    userId: ownedBy('user_id', () => users.id),
    mode: viewerMode('mode').notNull().default('webrtc'),
    joinedAt: tz('joined_at').notNull().defaultNow(),
    leftAt: tz('left_at'),
    watchSeconds: integer('watch_seconds').notNull().default(0),
  },
  (t) => [index('attendance_class_idx').on(t.classId), index('attendance_user_idx').on(t.userId)],
);

export const chatMessages = pgTable(
  'chat_messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    classId: ownedBy('class_id', () => liveClasses.id),
    userId: ownedBy('user_id', () => users.id),
    body: text('body').notNull(),
    createdAt: createdAt(),
    deletedAt: tz('deleted_at'),
    deletedBy: uuid('deleted_by').references(() => users.id, { onDelete: 'set null' }),
    /** Insertion order: timestamps tie within a clock tick, a sequence never does (chat order and page cursors). */
    seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity(),
  },
  (t) => [index('chat_messages_class_created_idx').on(t.classId, t.createdAt), index('chat_messages_class_seq_idx').on(t.classId, t.seq)],
);

export const questions = pgTable(
  'questions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    classId: ownedBy('class_id', () => liveClasses.id),
    userId: ownedBy('user_id', () => users.id),
    body: text('body').notNull(),
    anonymous: boolean('anonymous').notNull().default(false),
    status: questionStatus('status').notNull().default('open'),
    pinned: boolean('pinned').notNull().default(false),
    voteCount: integer('vote_count').notNull().default(0),
    createdAt: createdAt(),
    answeredAt: tz('answered_at'),
  },
  (t) => [
    index('questions_class_idx').on(t.classId),
    // At most one pinned question per class: pinning another one unpins the first in the same transaction.
    uniqueIndex('questions_one_pinned_per_class')
      .on(t.classId)
      .where(sql`${t.pinned}`),
  ],
);

export const questionVotes = pgTable(
  'question_votes',
  {
    questionId: ownedBy('question_id', () => questions.id),
    userId: ownedBy('user_id', () => users.id),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.questionId, t.userId] })],
);

export const polls = pgTable(
  'polls',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    classId: ownedBy('class_id', () => liveClasses.id),
    createdBy: ownedBy('created_by', () => users.id),
    question: text('question').notNull(),
    kind: pollKind('kind').notNull().default('single'),
    isQuiz: boolean('is_quiz').notNull().default(false),
    allowChange: boolean('allow_change').notNull().default(false),
    showResults: boolean('show_results').notNull().default(false),
    status: pollStatus('status').notNull().default('open'),
    createdAt: createdAt(),
    closedAt: tz('closed_at'),
  },
  (t) => [index('polls_class_idx').on(t.classId)],
);

export const pollOptions = pgTable(
  'poll_options',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    pollId: ownedBy('poll_id', () => polls.id),
    position: integer('position').notNull(),
    label: text('label').notNull(),
    isCorrect: boolean('is_correct').notNull().default(false),
  },
  (t) => [uniqueIndex('poll_options_poll_position_unique').on(t.pollId, t.position)],
);

/** One ballot per user per poll; a multiple-choice ballot lists several options. */
export const pollVotes = pgTable(
  'poll_votes',
  {
    pollId: ownedBy('poll_id', () => polls.id),
    userId: ownedBy('user_id', () => users.id),
    optionIds: uuid('option_ids').array().notNull(),
    createdAt: createdAt(),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.pollId, t.userId] })],
);

export const recordings = pgTable(
  'recordings',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    classId: ownedBy('class_id', () => liveClasses.id),
    lessonId: uuid('lesson_id').references(() => lessons.id, { onDelete: 'set null' }),
    /** Relative to the data directory */
    playlistPath: text('playlist_path').notNull(),
    durationSeconds: integer('duration_seconds').notNull().default(0),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull().default(0),
    thumbnailPath: text('thumbnail_path'),
    status: recordingStatus('status').notNull().default('recording'),
    error: text('error'),
    /** The MP4 download (download.mp4 beside the playlists), made after each finalisation. */
    downloadStatus: downloadStatus('download_status').notNull().default('none'),
    downloadPercent: integer('download_percent').notNull().default(0),
    downloadSizeBytes: bigint('download_size_bytes', { mode: 'number' }).notNull().default(0),
    downloadError: text('download_error'),
    createdAt: createdAt(),
    readyAt: tz('ready_at'),
  },
  (t) => [index('recordings_class_idx').on(t.classId), index('recordings_lesson_idx').on(t.lessonId)],
);

/**
 * Chapters of a class's replay: marked by the teacher during the class or added on the replay afterwards.
 * `at` is the moment of the class (wall clock) the chapter starts at, placed on the replay through its runs
 * like the class's chat and questions (hls/replay-clock.ts), so it stays right when runs are joined later.
 */
export const classChapters = pgTable(
  'class_chapters',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    classId: ownedBy('class_id', () => liveClasses.id),
    title: text('title').notNull(),
    at: tz('at').notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [index('class_chapters_class_at_idx').on(t.classId, t.at)],
);

export const lessonProgress = pgTable(
  'lesson_progress',
  {
    userId: ownedBy('user_id', () => users.id),
    lessonId: ownedBy('lesson_id', () => lessons.id),
    positionSeconds: integer('position_seconds').notNull().default(0),
    durationSeconds: integer('duration_seconds').notNull().default(0),
    completed: boolean('completed').notNull().default(false),
    completedAt: tz('completed_at'),
    updatedAt: tz('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.lessonId] })],
);

/** Background transcodes of uploaded lesson videos; the row is the job's whole state, so a restart resumes it. */
export const transcodeJobs = pgTable(
  'transcode_jobs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    lessonId: ownedBy('lesson_id', () => lessons.id),
    status: transcodeStatus('status').notNull().default('queued'),
    /** The uploaded file, relative to the data directory; removed once the job is ready */
    sourcePath: text('source_path').notNull(),
    originalName: text('original_name').notNull().default(''),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull().default(0),
    /** From ffprobe at upload time: what 100 % means */
    durationSeconds: integer('duration_seconds').notNull().default(0),
    progressPercent: integer('progress_percent').notNull().default(0),
    attempts: integer('attempts').notNull().default(0),
    error: text('error'),
    createdAt: createdAt(),
    startedAt: tz('started_at'),
    finishedAt: tz('finished_at'),
  },
  (t) => [index('transcode_jobs_lesson_idx').on(t.lessonId), index('transcode_jobs_status_idx').on(t.status, t.createdAt)],
);

/** A teacher's decision about one student in one class: muted (no chat, no questions) or removed (may not rejoin). */
export const classRestrictionKind = pgEnum('class_restriction_kind', ['muted', 'removed']);
export const classRestrictions = pgTable(
  'class_restrictions',
  {
    classId: ownedBy('class_id', () => liveClasses.id),
    userId: ownedBy('user_id', () => users.id),
    kind: classRestrictionKind('kind').notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.classId, t.userId, t.kind] })],
);

/** The raised-hands queue of a live class, in the database so that every server process sees the same order. */
export const raisedHands = pgTable(
  'raised_hands',
  {
    classId: ownedBy('class_id', () => liveClasses.id),
    userId: ownedBy('user_id', () => users.id),
    raisedAt: tz('raised_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.classId, t.userId] }), index('raised_hands_class_raised_idx').on(t.classId, t.raisedAt)],
);

/**
 * Outgoing mail, one row per message: what to compose (kind + params, composed when sent, so a message about a
 * class that was cancelled meanwhile is dropped, and no link token sits here in clear), where it goes, and where
 * delivery stands. Senders claim due rows atomically (FOR UPDATE SKIP LOCKED) under a lease, so several server
 * processes never send one message twice while both live, and a crashed sender's rows come back when the lease
 * ends. `dedupe_key` makes "at most once" notices (one reminder per class and person) a constraint.
 */
export const mailStatus = pgEnum('mail_status', ['pending', 'sending', 'sent', 'failed', 'dropped']);
export const mailOutbox = pgTable(
  'mail_outbox',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind').notNull(),
    toAddress: text('to_address').notNull(),
    params: jsonb('params').$type<Record<string, unknown>>().notNull().default({}),
    dedupeKey: text('dedupe_key'),
    status: mailStatus('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: tz('next_attempt_at').notNull().defaultNow(),
    /** While `sending`: the sender holding the row has it until then; after that another may take it over. */
    leaseUntil: tz('lease_until'),
    /** Which claim holds the row: only it may record the outcome */
    claimId: uuid('claim_id'),
    lastError: text('last_error'),
    createdAt: createdAt(),
    sentAt: tz('sent_at'),
  },
  (t) => [uniqueIndex('mail_outbox_dedupe_unique').on(t.dedupeKey), index('mail_outbox_due_idx').on(t.status, t.nextAttemptAt)],
);

/** An address that turned one kind of notice off (profile toggle or one-click unsubscribe). */
export const mailOptOuts = pgTable(
  'mail_opt_outs',
  {
    /** Lower-cased, so invitees without an account can opt out too */
    address: text('address').notNull(),
    topic: text('topic').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.address, t.topic] })],
);

/**
 * Notices sent to a whole group once (the reminder of a class, the replay of a recording): the row is written
 * in the transaction that queues the group's messages, so several processes scanning at once fan out once.
 */
export const noticeFanouts = pgTable('notice_fanouts', {
  subject: text('subject').primaryKey(),
  createdAt: createdAt(),
});

/** Secrets the server makes once and every process shares (e.g. the key that signs unsubscribe links). */
export const serverSecrets = pgTable('server_secrets', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: createdAt(),
});

/**
 * A teacher's invitation of one address to a course. The mailed link carries a token of which only the hash
 * is kept (made when the message is composed); accepting enrolls the account with that address, and a person
 * without an account registers through the link (which confirms their address).
 */
export const invitationStatus = pgEnum('invitation_status', ['pending', 'accepted', 'revoked']);
export const courseInvitations = pgTable(
  'course_invitations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    courseId: ownedBy('course_id', () => courses.id),
    /** Lower-cased */
    email: text('email').notNull(),
    invitedBy: uuid('invited_by').references(() => users.id, { onDelete: 'set null' }),
    tokenHash: text('token_hash'),
    status: invitationStatus('status').notNull().default('pending'),
    expiresAt: tz('expires_at').notNull(),
    /** When the invitation was last mailed: what the per-day limit counts */
    sentAt: tz('sent_at').notNull().defaultNow(),
    createdAt: createdAt(),
    acceptedAt: tz('accepted_at'),
    acceptedBy: uuid('accepted_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    uniqueIndex('course_invitations_pending_unique')
      .on(t.courseId, t.email)
      .where(sql`${t.status} = 'pending'`),
    uniqueIndex('course_invitations_token_unique').on(t.tokenHash),
    index('course_invitations_inviter_sent_idx').on(t.invitedBy, t.sentAt),
  ],
);

/**
 * What admins and moderators did (role changes, disabled accounts, removals, mutes, deleted messages), for the
 * admins' audit view. Ids without foreign keys: an entry outlives what it names; `detail` keeps the names as
 * they were.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    createdAt: createdAt(),
    actorId: uuid('actor_id'),
    action: text('action').notNull(),
    targetUserId: uuid('target_user_id'),
    classId: uuid('class_id'),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index('audit_events_created_idx').on(t.createdAt)],
);

export type AuditEventRow = typeof auditEvents.$inferSelect;

/**
 * A class's stream keys for encoders (WHIP). Only the hash of a key is kept; making a new key revokes the
 * previous one (revokedAt set), which is kept so a revoked key is told apart from a wrong one.
 */
export const streamKeys = pgTable(
  'stream_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    classId: ownedBy('class_id', () => liveClasses.id),
    keyHash: text('key_hash').notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    revokedAt: tz('revoked_at'),
  },
  (t) => [
    uniqueIndex('stream_keys_hash_unique').on(t.keyHash),
    uniqueIndex('stream_keys_current_unique')
      .on(t.classId)
      .where(sql`${t.revokedAt} is null`),
  ],
);

export type User = typeof users.$inferSelect;
export type Session = typeof sessions.$inferSelect;
export type Course = typeof courses.$inferSelect;
export type Lesson = typeof lessons.$inferSelect;
export type LiveClass = typeof liveClasses.$inferSelect;
export type Recording = typeof recordings.$inferSelect;
export type TranscodeJob = typeof transcodeJobs.$inferSelect;
export type LessonVideoStatus = (typeof lessonVideoStatus.enumValues)[number];
export type UserRole = (typeof userRole.enumValues)[number];
export type ClassStatus = (typeof classStatus.enumValues)[number];
export type ChatMessageRow = typeof chatMessages.$inferSelect;
export type QuestionRow = typeof questions.$inferSelect;
export type PollRow = typeof polls.$inferSelect;
export type PollOptionRow = typeof pollOptions.$inferSelect;
export type ClassChapterRow = typeof classChapters.$inferSelect;
export type AccountTokenPurpose = (typeof accountTokenPurpose.enumValues)[number];
export type CourseInvitation = typeof courseInvitations.$inferSelect;
export type StreamKey = typeof streamKeys.$inferSelect;
export type MailOutboxRow = typeof mailOutbox.$inferSelect;
export type ClassRestrictionKind = (typeof classRestrictionKind.enumValues)[number];
