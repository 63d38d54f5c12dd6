import type { PageLoad } from './$types';
import type { ClassAnalytics } from '@lectern/contracts/analytics';
import { loadApi } from '#lib/api/load.ts';

export const ssr = false;

export const load = (({ fetch, params }) =>
  loadApi<{ analytics: ClassAnalytics }>(fetch, `/classes/${params.classId}/analytics`, 'Could not load the analytics')) satisfies PageLoad;
