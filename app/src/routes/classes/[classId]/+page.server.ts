import type { PageServerLoad } from './$types';
import { loadClassPage } from '#lib/media/class-page.server.ts';

export const load: PageServerLoad = ({ locals, params, url }) => loadClassPage(locals.user, params.classId, url.pathname);
