// Scheduling live classes: the teacher picks a wall-clock time in a time zone; the server stores UTC.
import { z } from 'zod';
import type { ClassRole, ClassStatus } from './live-class.ts';

export function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

export const TimeZone = z.string().min(1).max(64).refine(isTimeZone, { message: 'Unknown time zone' });
/** `YYYY-MM-DDTHH:mm` as an <input type="datetime-local"> gives it: a wall time without offset. */
export const LocalDateTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, { message: 'Date and time look like 2026-05-04T18:30' });

export const ClassCreateBody = z.object({
  title: z.string().trim().min(1, { message: 'Title is required' }).max(160),
  description: z.string().trim().max(5000).default(''),
  lessonId: z.uuid().nullable().optional(),
  startsAtLocal: LocalDateTime,
  timeZone: TimeZone,
  durationMinutes: z
    .number()
    .int()
    .min(5, { message: 'A class lasts at least 5 minutes' })
    .max(12 * 60, { message: 'A class lasts at most 12 hours' })
    .default(60),
});
export type ClassCreateBody = z.input<typeof ClassCreateBody>;

export const ClassUpdateBody = z
  .object({
    title: z.string().trim().min(1, { message: 'Title is required' }).max(160),
    description: z.string().trim().max(5000),
    lessonId: z.uuid().nullable(),
    startsAtLocal: LocalDateTime,
    timeZone: TimeZone,
    durationMinutes: z
      .number()
      .int()
      .min(5)
      .max(12 * 60),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'Nothing to change' });
export type ClassUpdateBody = z.input<typeof ClassUpdateBody>;

export const ScheduleQuery = z.object({
  /** ISO instant; default: two hours ago (a class that just started still shows) */
  from: z.iso.datetime({ offset: true }).optional(),
  days: z.coerce.number().int().min(1).max(366).default(90),
});

export interface ScheduledClass {
  id: string;
  title: string;
  description: string;
  status: ClassStatus;
  scheduledAt: string;
  endsAt: string;
  timeZone: string;
  durationMinutes: number;
  courseId: string;
  courseTitle: string;
  lessonId: string | null;
  teacherName: string;
  /** How the viewer relates to it */
  role: ClassRole;
}
