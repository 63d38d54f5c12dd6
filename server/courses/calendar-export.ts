// Classes -> an .ics calendar with links back to Lectern.
import { buildCalendar } from './ics.ts';

export interface CalendarClass {
  id: string;
  title: string;
  description: string;
  courseTitle: string;
  status: string;
  scheduledAt: Date | string;
  durationMinutes: number;
  cancelledAt?: Date | null;
  createdAt?: Date;
}

export function classCalendar(origin: string, name: string, classes: CalendarClass[]): string {
  return buildCalendar(
    name,
    classes.map((k) => {
      const start = new Date(k.scheduledAt);
      return {
        uid: `class-${k.id}@lectern`,
        title: `${k.title} (${k.courseTitle})`,
        description: k.description,
        start,
        end: new Date(start.getTime() + k.durationMinutes * 60_000),
        url: `${origin}/classes/${k.id}`,
        cancelled: k.status === 'cancelled',
        updatedAt: k.cancelledAt ?? k.createdAt ?? start,
      };
    }),
  );
}
