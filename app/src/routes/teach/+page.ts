import type { PageLoad } from './$types';
import { redirect } from '@sveltejs/kit';
import type { CatalogPage } from '@lectern/contracts/courses';
import { loadApi } from '#lib/api/load.ts';

export const ssr = false;

export const load: PageLoad = async (event) => {
  const { user } = await event.parent();
  if (!user) redirect(303, '/login?next=/teach');
  const catalog = await loadApi<CatalogPage>(event, '/courses?scope=teaching&pageSize=50', 'Could not load your courses');
  return { catalog, user };
};
