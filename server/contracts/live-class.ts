// A live class as its members see it over Socket.io: its status, who is in it and who is on stage. Shared by
// the server (validation, pushes) and the app (types). The media signalling itself is in sfu.ts.
import { z } from 'zod';

/** The life of a live class; the database's class_status enum is made from this list. */
export const CLASS_STATUSES = ['scheduled', 'live', 'ended', 'cancelled'] as const;
export const ClassStatus = z.enum(CLASS_STATUSES);
export type ClassStatus = z.infer<typeof ClassStatus>;

/** What a member is in a class: its teacher, an admin, or an enrolled student. */
export type ClassRole = 'teacher' | 'admin' | 'student';

/** Pushed as `class:status` whenever the lifecycle moves; `teacher` tells whether the teacher is connected. */
export interface ClassStatusPush {
  classId: string;
  status: ClassStatus;
  teacher: 'present' | 'away' | 'interrupted';
  startedAt: string | null;
  endedAt: string | null;
}

export interface PresenceViewer {
  userId: string;
  displayName: string;
  role: ClassRole;
  mode: 'webrtc' | 'hls' | 'waiting';
  onStage: boolean;
}

/** Pushed as `presence:update`: who is in the class and how many students watch. */
export interface PresencePush {
  classId: string;
  viewers: PresenceViewer[];
  studentCount: number;
  peakViewers: number;
  totalViewers: number;
}

// ---- The stage: the teacher invites a student, who accepts (then publishes camera and mic) or declines ----
export const StageRef = z.object({ userId: z.uuid({ message: 'must be an id' }) });
export const StageAnswer = z.object({ accept: z.boolean() });

/** `stage:update` tells everyone who is on stage and who is invited. */
export interface StageUpdatePush {
  classId: string;
  userIds: string[];
  invited: string[];
}
