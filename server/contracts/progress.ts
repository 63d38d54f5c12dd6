// Lesson progress: where a student is in a lesson (uploaded video or live-class replay), shared by the
// lesson page, the replay page and the server.
import { z } from 'zod';

/** Longest lesson we accept a position for: 24 h. */
export const MAX_LESSON_SECONDS = 24 * 3600;
/** A lesson counts as completed once this share of it has been watched. */
export const COMPLETED_RATIO = 0.9;

export const ProgressBody = z
  .object({
    positionSeconds: z.number().finite().min(0).max(MAX_LESSON_SECONDS),
    durationSeconds: z.number().finite().min(0).max(MAX_LESSON_SECONDS),
  })
  .refine((b) => b.durationSeconds === 0 || b.positionSeconds <= b.durationSeconds + 1, {
    message: 'positionSeconds cannot be past the end of the lesson',
    path: ['positionSeconds'],
  });
export type ProgressBody = z.input<typeof ProgressBody>;

export interface LessonProgressView {
  lessonId: string;
  positionSeconds: number;
  durationSeconds: number;
  /** 0..100, rounded */
  percent: number;
  completed: boolean;
  updatedAt: string;
}

export interface CourseProgressView {
  courseId: string;
  completedLessons: number;
  totalLessons: number;
  /** 0..100 */
  percent: number;
  /** The lesson to resume: the last one touched and not completed, else the first not started. */
  continueLessonId: string | null;
  continuePositionSeconds: number;
}
