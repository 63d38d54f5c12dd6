// Teacher analytics: per live class and per course.
import type { ClassStatus } from './live-class.ts';

export interface AttendanceRow {
  userId: string;
  displayName: string;
  joinedAt: string;
  leftAt: string | null;
  watchSeconds: number;
  mode: 'webrtc' | 'hls';
}

export interface ClassAnalytics {
  classId: string;
  title: string;
  status: ClassStatus;
  peakViewers: number;
  totalViewers: number;
  attendance: AttendanceRow[];
  /** Concurrent viewers per minute since the first join */
  viewersOverTime: { at: string; viewers: number }[];
  participation: {
    chatMessages: number;
    chatters: number;
    questions: number;
    askers: number;
    polls: number;
    pollVoters: number;
  };
}

export interface CourseStudentProgress {
  userId: string;
  displayName: string;
  email: string;
  enrolledAt: string;
  completedLessons: number;
  percent: number;
  lastActivityAt: string | null;
}

export interface CourseAnalytics {
  courseId: string;
  title: string;
  enrolled: number;
  totalLessons: number;
  /** Share of enrolled students who completed every lesson, 0..100 */
  completionRate: number;
  averagePercent: number;
  lessons: { lessonId: string; title: string; started: number; completed: number; completionRate: number }[];
  students: CourseStudentProgress[];
  classes: { classId: string; title: string; status: string; scheduledAt: string; peakViewers: number; totalViewers: number }[];
}
