import type { PageServerLoad } from './$types';
import { error } from '@sveltejs/kit';
import { CatalogQuery } from '@lectern/contracts/courses';
import { pageServer } from '../../../../server/pages/page-server.ts';

export const load: PageServerLoad = async ({ url, locals }) => {
  const parsed = CatalogQuery.safeParse(Object.fromEntries(url.searchParams));
  if (!parsed.success) error(400, parsed.error.issues[0]?.message ?? 'Invalid search');
  const catalog = await pageServer().catalog(locals.user, parsed.data);
  return { catalog, q: parsed.data.q ?? '', scope: parsed.data.scope };
};
