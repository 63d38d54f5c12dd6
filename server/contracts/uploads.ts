// Uploaded lesson videos: what the lesson page polls while the background transcode runs.
export interface LessonVideoView {
  lessonId: string;
  status: 'none' | 'processing' | 'ready' | 'failed';
  error: string | null;
  job: {
    id: string;
    status: 'queued' | 'running' | 'ready' | 'failed';
    progressPercent: number;
    attempts: number;
    originalName: string;
    sizeBytes: number;
    error: string | null;
  } | null;
  /** Signed HLS playlist URL when ready and the viewer may watch */
  playbackUrl: string | null;
}
