import type { PageLoad } from './$types';
import type { ReplayView } from '@lectern/contracts/media';
import type { ReplayTimeline } from '@lectern/contracts/timeline';
import { loadApi, loadApiOptional } from '#lib/api/load.ts';

// Rendered in the browser from the API, which checks that the viewer is a member of the class's course.
export const ssr = false;

export const load: PageLoad = async (event) => {
  const path = `/media/recordings/${event.params.recordingId}`;
  const replay = await loadApi<ReplayView>(event, path, 'Could not load the replay');
  // The class's chat, questions, polls and chapters beside a watchable replay; the replay plays without them.
  const timeline = replay.recording.status === 'ready' ? await loadApiOptional<ReplayTimeline>(event, `${path}/timeline`) : null;
  return { replay, timeline };
};
