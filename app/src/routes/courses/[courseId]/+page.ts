import type { PageLoad } from './$types';
import { loadApi, type UntypedAnswer } from '#lib/api/load.ts';

// Rendered in the browser from the API, which applies every permission check.
export const ssr = false;

export const load: PageLoad = (event) => loadApi<UntypedAnswer>(event, `/courses/${event.params.courseId}`, 'Could not load the course');
