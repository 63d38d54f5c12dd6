import type { PageLoad } from './$types';
import { error } from '@sveltejs/kit';

// Rendered in the browser from the API, which applies every permission check.
export const ssr = false;

export const load: PageLoad = async ({ fetch, params }) => {
  const res = await fetch(`/api/courses/${params.courseId}`);
  const body = await res.json();
  if (!res.ok) error(res.status, body.error?.message ?? 'Could not load the course');
  return body;
};
