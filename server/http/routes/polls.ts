// Poll results of a class as CSV (one row per option), for the class's teacher and admins.
import { Hono } from 'hono';
import { z } from 'zod';
import { canModerate, type Permissions } from '../../auth/permissions.ts';
import type { PollBook } from '../../interaction/poll-book.ts';
import { ApiFailure, validationFailure } from '../errors.ts';
import { requireUser, type AppEnv } from '../session.ts';

const ClassParams = z.object({ classId: z.uuid({ message: 'classId must be a class id' }) });

export const pollRoutes = ({ permissions, polls }: { permissions: Permissions; polls: Pick<PollBook, 'exportCsv'> }) =>
  new Hono<AppEnv>().get('/:classId/polls.csv', async (c) => {
    const user = requireUser(c);
    const params = ClassParams.safeParse({ classId: c.req.param('classId') });
    if (!params.success) throw validationFailure(params.error);
    const access = await permissions.classRole(user, params.data.classId);
    if (!access) throw new ApiFailure(404, 'not_found', 'No such class');
    if (!canModerate(access.role)) throw new ApiFailure(403, 'forbidden', "Only the class's teacher can export poll results");
    const csv = await polls.exportCsv(params.data.classId);
    const day = new Date().toISOString().slice(0, 10);
    return c.body(csv, 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="polls-${params.data.classId}-${day}.csv"`,
      'cache-control': 'no-store',
    });
  });
