import type { PageLoad } from './$types';
import type { ScheduledClass } from '@lectern/contracts/schedule';
import { loadApi } from '#lib/api/load.ts';

export const ssr = false;

export const load: PageLoad = (event) =>
  loadApi<{ classes: ScheduledClass[] }>(event, '/schedule?days=120', 'Could not load your schedule');
