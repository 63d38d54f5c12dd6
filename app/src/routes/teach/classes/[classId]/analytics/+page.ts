import type { PageLoad } from './$types';
import { error } from '@sveltejs/kit';

export const ssr = false;

export const load: PageLoad = async ({ fetch, params }) => {
  const res = await fetch(`/api/classes/${params.classId}/analytics`);
  const body = await res.json();
  if (!res.ok) error(res.status, body.error?.message ?? 'Could not load the analytics');
  return body;
};
