import type { PageLoad } from './$types';
import { error } from '@sveltejs/kit';
import { loadApi, type UntypedAnswer } from '#lib/api/load.ts';

export const ssr = false;

export const load: PageLoad = async (event) => {
  const body = await loadApi<UntypedAnswer>(event, `/lessons/${event.params.lessonId}`, 'Could not load the lesson');
  if (body.course.id !== event.params.courseId) error(404, 'No such lesson in this course');
  return body;
};
