import type { PageLoad } from './$types';
import type { ClassAnalytics } from '@lectern/contracts/analytics';
import { loadApi } from '#lib/api/load.ts';

export const ssr = false;

export const load = ((event) =>
  loadApi<{ analytics: ClassAnalytics }>(
    event,
    `/classes/${event.params.classId}/analytics`,
    'Could not load the analytics',
  )) satisfies PageLoad;
