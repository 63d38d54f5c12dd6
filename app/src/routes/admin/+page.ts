import type { PageLoad } from './$types';
import { loadApi } from '#lib/api/load.ts';
import type { AdminFailure, AdminLiveClass, AdminUserPage, AuditEntry } from '@lectern/contracts/admin';

// Rendered in the browser from the admin API (which refuses anyone but admins).
export const ssr = false;

export const load: PageLoad = async (event) => {
  const { url } = event;
  const q = url.searchParams.get('q') ?? '';
  const [{ classes }, { failures }, users, { entries }] = await Promise.all([
    loadApi<{ classes: AdminLiveClass[] }>(event, '/admin/live-classes', 'Only admins may see this page'),
    loadApi<{ failures: AdminFailure[] }>(event, '/admin/failures', 'Could not load the failures'),
    loadApi<AdminUserPage>(event, `/admin/users?q=${encodeURIComponent(q)}`, 'Could not load the accounts'),
    loadApi<{ entries: AuditEntry[] }>(event, '/admin/audit', 'Could not load the audit trail'),
  ]);
  return { classes, failures, users, entries, q };
};
