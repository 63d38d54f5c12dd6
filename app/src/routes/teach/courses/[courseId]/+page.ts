import type { PageLoad } from './$types';
import { error } from '@sveltejs/kit';

export const ssr = false;

export const load: PageLoad = async ({ fetch, params }) => {
  const res = await fetch(`/api/courses/${params.courseId}`);
  const body = await res.json();
  if (!res.ok) error(res.status, body.error?.message ?? 'Could not load the course');
  if (body.role !== 'teacher' && body.role !== 'admin') error(403, 'Only the course teacher or an admin may edit this course');
  const videos = await Promise.all(
    body.lessons.map(async (l: { id: string }) => {
      const r = await fetch(`/api/lessons/${l.id}/video`);
      return r.ok ? (await r.json()).video : null;
    }),
  );
  return { ...body, videos };
};
