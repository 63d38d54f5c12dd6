import type { PageLoad } from './$types';
import { error, redirect } from '@sveltejs/kit';

export const ssr = false;

export const load: PageLoad = async ({ fetch }) => {
  const res = await fetch('/api/schedule?days=120');
  if (res.status === 401) redirect(303, '/login?next=/schedule');
  const body = await res.json();
  if (!res.ok) error(res.status, body.error?.message ?? 'Could not load your schedule');
  return body;
};
