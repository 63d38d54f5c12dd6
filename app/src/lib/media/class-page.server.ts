// What the classroom and the studio pages load: the class and the visitor's role in it (null when they may
// not enter). The socket's class:join checks the same again; this only lets the page say so up front.
import { error, redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { pageServer } from '../../../../server/pages/page-server.ts';
import type { SessionUser } from '../../../../server/auth/session-store.ts';
import type { ClassRole, ClassStatus } from '@lectern/contracts/live-class';

export interface ClassPageData {
  classId: string;
  access: { role: ClassRole } | null;
  liveClass: {
    id: string;
    title: string;
    status: ClassStatus;
    scheduledAt: string;
    teacherId: string;
  } | null;
}

export async function loadClassPage(user: SessionUser | null, classId: string, pathname: string): Promise<ClassPageData> {
  if (!user) redirect(303, `/login?next=${encodeURIComponent(pathname)}`);
  if (!z.uuid().safeParse(classId).success) error(404, 'No such class');
  const access = await pageServer().classEntry(user, classId);
  if (!access) return { classId, access: null, liveClass: null };
  const c = access.liveClass;
  return {
    classId,
    access: { role: access.role },
    liveClass: { id: c.id, title: c.title, status: c.status, scheduledAt: c.scheduledAt.toISOString(), teacherId: c.teacherId },
  };
}
