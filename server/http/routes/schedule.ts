// /api/schedule: "My schedule" (classes I teach or take), as JSON and as an .ics calendar.
import { Hono } from 'hono';
import { ScheduleQuery } from '../../contracts/schedule.ts';
import { classCalendar } from '../../courses/calendar-export.ts';
import type { ClassSchedule } from '../../courses/class-schedule.ts';
import { requireUser, type AppEnv } from '../session.ts';
import { queryParams } from '../validate.ts';

function windowOf(query: { from?: string | undefined; days: number }): { from: Date; until: Date } {
  const from = query.from ? new Date(query.from) : new Date(Date.now() - 2 * 3600_000);
  return { from, until: new Date(from.getTime() + query.days * 86400_000) };
}

/** `origin`: the public origin (LECTERN_ORIGIN) for links in calendar files; the request's own when unset. */
export const scheduleRoutes = ({ schedule, origin }: { schedule: ClassSchedule; origin: string | undefined }) =>
  new Hono<AppEnv>()
    .get('/', async (c) => {
      const user = requireUser(c);
      const { from, until } = windowOf(queryParams(c, ScheduleQuery));
      return c.json({
        classes: await schedule.forUser(user, from, until),
        from: from.toISOString(),
        until: until.toISOString(),
      });
    })
    .get('/calendar.ics', async (c) => {
      const user = requireUser(c);
      const { from, until } = windowOf(queryParams(c, ScheduleQuery));
      const classes = await schedule.forUser(user, from, until);
      const body = classCalendar(origin ?? new URL(c.req.url).origin, `Lectern: ${user.displayName}`, classes);
      return c.body(body, 200, {
        'content-type': 'text/calendar; charset=utf-8',
        'content-disposition': 'attachment; filename="lectern-schedule.ics"',
      });
    });
