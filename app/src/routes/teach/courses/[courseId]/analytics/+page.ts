import type { PageLoad } from './$types';
import type { CourseAnalytics } from '@lectern/contracts/analytics';
import { loadApi } from '#lib/api/load.ts';

export const ssr = false;

export const load = ((event) =>
  loadApi<{ analytics: CourseAnalytics }>(
    event,
    `/courses/${event.params.courseId}/analytics`,
    'Could not load the analytics',
  )) satisfies PageLoad;
