import type { PageLoad } from './$types';
import { redirect } from '@sveltejs/kit';

export const ssr = false;

export const load: PageLoad = async ({ fetch, parent }) => {
  const { user } = await parent();
  if (!user) redirect(303, '/login?next=/teach');
  const res = await fetch('/api/courses?scope=teaching&pageSize=50');
  return { catalog: await res.json(), user };
};
