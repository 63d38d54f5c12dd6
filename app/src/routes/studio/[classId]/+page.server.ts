import { redirect } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';
import { loadClassPage } from '#lib/media/class-page.server.ts';

export const load: PageServerLoad = async ({ locals, params, url }) => {
  const data = await loadClassPage(locals.user, params.classId, url.pathname);
  // Students watch from the classroom; the studio is the teacher's (and an admin's) desk.
  if (data.access?.role === 'student') redirect(303, `/classes/${params.classId}`);
  return data;
};
