import type { PageLoad } from './$types';
import { error } from '@sveltejs/kit';

export const ssr = false;

export const load: PageLoad = async ({ fetch, params }) => {
  const res = await fetch(`/api/lessons/${params.lessonId}`);
  const body = await res.json();
  if (!res.ok) error(res.status, body.error?.message ?? 'Could not load the lesson');
  if (body.course.id !== params.courseId) error(404, 'No such lesson in this course');
  return body;
};
