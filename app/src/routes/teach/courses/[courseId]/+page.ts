import type { PageLoad } from './$types';
import { error } from '@sveltejs/kit';
import type { LessonVideoView } from '@lectern/contracts/uploads';
import { loadApi, loadApiOptional, type UntypedAnswer } from '#lib/api/load.ts';

export const ssr = false;

export const load: PageLoad = async (event) => {
  const body = await loadApi<UntypedAnswer>(event, `/courses/${event.params.courseId}`, 'Could not load the course');
  if (body.role !== 'teacher' && body.role !== 'admin') error(403, 'Only the course teacher or an admin may edit this course');
  const videos = await Promise.all(
    body.lessons.map(
      async (l: { id: string }) => (await loadApiOptional<{ video: LessonVideoView }>(event, `/lessons/${l.id}/video`))?.video ?? null,
    ),
  );
  return { ...body, videos };
};
