// The request/acknowledge envelope every Socket.io event uses, shared by server and app.
import { z } from 'zod';
import type { ClassRole, ClassStatus } from './live-class.ts';

export type AckOk<T> = { ok: true; data: T };
export type AckError = { ok: false; error: { code: string; message: string } };
export type Ack<T> = AckOk<T> | AckError;

/**
 * Sockets one person may have in one class at once (tabs, a reconnect overlapping its old socket). Each socket
 * is a member with its own media peer, so without a bound one account could take every real-time seat.
 */
export const MAX_SOCKETS_PER_PERSON = 5;

/** The payload of a request that needs none. */
export const NoPayload = z.object({}).optional();

export const ClassJoin = z.object({ classId: z.uuid({ message: 'classId must be a class id' }) });
export type ClassJoin = z.infer<typeof ClassJoin>;

export interface ClassJoined {
  classId: string;
  role: ClassRole;
  title: string;
  status: ClassStatus;
  user: { id: string; displayName: string; role: 'student' | 'teacher' | 'admin' };
}
