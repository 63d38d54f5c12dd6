import type { PageLoad } from './$types';
import type { ReplayView } from '@lectern/contracts/media';
import { loadApi } from '#lib/api/load.ts';

// Rendered in the browser from the API, which checks that the viewer is a member of the class's course.
export const ssr = false;

export const load: PageLoad = async (event) => ({
  replay: await loadApi<ReplayView>(event, `/media/recordings/${event.params.recordingId}`, 'Could not load the replay'),
});
