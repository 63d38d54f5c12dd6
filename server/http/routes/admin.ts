// /api/admin: for admins only. Accounts (search, promote, disable), the classes live now with the health of
// their media, recent failed recordings and transcodes, and the audit trail.
import { Hono } from 'hono';
import { AdminUserUpdateBody, AdminUsersQuery, AuditQuery } from '../../contracts/admin.ts';
import type { AdminAccounts } from '../../admin/admin-accounts.ts';
import type { AdminOverview } from '../../admin/admin-overview.ts';
import type { AuditLog } from '../../admin/audit-log.ts';
import type { Logger } from '../../log.ts';
import { requireRole, type AppEnv } from '../session.ts';
import { jsonBody, queryParams } from '../validate.ts';
import { idParam } from './access.ts';

export interface AdminRouteParts {
  accounts: AdminAccounts;
  overview: AdminOverview;
  audit: Pick<AuditLog, 'list'>;
  log: Logger;
}

export const adminRoutes = ({ accounts, overview, audit, log }: AdminRouteParts) =>
  new Hono<AppEnv>()
    .use('*', async (c, next) => {
      requireRole(c, 'admin');
      await next();
    })
    .get('/users', async (c) => c.json(await accounts.list(queryParams(c, AdminUsersQuery))))
    .patch('/users/:userId', async (c) => {
      const admin = requireRole(c, 'admin');
      const userId = idParam(c, 'userId', 'account');
      const change = await jsonBody(c, AdminUserUpdateBody);
      const user = await accounts.update(admin.id, userId, change);
      log.info({ userId, by: admin.id, change }, 'account changed by an admin');
      return c.json({ user });
    })
    .get('/live-classes', async (c) => c.json({ classes: await overview.liveClasses() }))
    .get('/failures', async (c) => c.json({ failures: await overview.recentFailures() }))
    .get('/audit', async (c) => {
      const { before } = queryParams(c, AuditQuery);
      return c.json({ entries: await audit.list({ before: before ? new Date(before) : undefined }) });
    });
