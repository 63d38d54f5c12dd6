// Media (HLS) shared by server and app: signed playback URLs for a live class and for recordings.
import { z } from 'zod';

export const RecordingStatus = z.enum(['recording', 'processing', 'ready', 'failed']);
export type RecordingStatus = z.infer<typeof RecordingStatus>;

/** The MP4 download of a replay: none yet, waiting for its turn, being made (percent), ready or failed. */
export const DOWNLOAD_STATUSES = ['none', 'pending', 'processing', 'ready', 'failed'] as const;
export type DownloadStatus = (typeof DOWNLOAD_STATUSES)[number];

export const ClassIdParam = z.object({ classId: z.uuid({ message: 'classId must be a class id' }) });
export const RecordingIdParam = z.object({ recordingId: z.uuid({ message: 'recordingId must be a recording id' }) });

/** A rung directory name ("720p") and a media file's name in it: nothing that could leave the directory. */
export const RungName = z.string().regex(/^[0-9]{2,4}p$/, 'not a rendition');
export const MediaFileName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}\.(?:ts|m4s|mp4)$/, 'not a media file');
export const MediaToken = z.string().min(10).max(512);

/** GET /api/media/classes/:classId/live */
export interface LiveStreamView {
  classId: string;
  /** Master playlist with ?token=; null while the class is not streaming yet (poll again). */
  playlistUrl: string | null;
  token: string;
  tokenExpiresAt: string;
  status: 'starting' | 'live' | 'offline';
}

export interface RecordingView {
  id: string;
  classId: string;
  lessonId: string | null;
  title: string;
  status: RecordingStatus;
  durationSeconds: number;
  sizeBytes: number;
  createdAt: string;
  readyAt: string | null;
  playlistUrl: string | null;
  thumbnailUrl: string | null;
  tokenExpiresAt: string;
  error: string | null;
  /** Its MP4 download (made once the recording is finalised). */
  download: ReplayDownloadView;
}

/** The replay's MP4 (H.264 + AAC, the top rendition): being made (percent) or ready (a signed URL, its size). */
export interface ReplayDownloadView {
  status: DownloadStatus;
  percent: number;
  sizeBytes: number;
  url: string | null;
  error: string | null;
}

/** A replay's or lesson video's caption track (WebVTT), with a URL signed for the viewer. */
export interface CaptionTrackView {
  url: string;
  /** BCP 47 language tag, e.g. "en" */
  language: string;
  label: string;
  cues: number;
  updatedAt: string;
}

/** GET /api/media/recordings/:recordingId: the recording and, for a lesson replay, where the viewer was. */
export interface ReplayView {
  recording: RecordingView;
  captions: CaptionTrackView | null;
  /** The class's teacher or an admin: may change the replay (captions, deletion). */
  canEdit: boolean;
  lesson: { id: string; title: string; courseId: string } | null;
  resumeAtSeconds: number;
  completed: boolean;
}
