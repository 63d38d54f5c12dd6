// How browser-rendered pages (ssr = false) load their data: from /api in their load function, where the API
// applies every permission check. A visitor who is not logged in goes to the login page (and back here after
// it); any other refusal becomes SvelteKit's error page with the server's own message.
import { error, redirect } from '@sveltejs/kit';

/** An answer no contract types yet (the course and lesson pages' read it as the API builds it), like res.json(). */
export type UntypedAnswer = ReturnType<typeof JSON.parse>;

/** What loadApi needs of a load function's event. */
export interface ApiLoadEvent {
  fetch: typeof globalThis.fetch;
  url: URL;
}

/** GET /api`path` and return its body; on a non-2xx answer, the login page or the error page (`failure` when it says nothing). */
export async function loadApi<T>(event: ApiLoadEvent, path: string, failure: string): Promise<T> {
  const res = await event.fetch(`/api${path}`);
  if (res.status === 401) redirect(303, `/login?next=${encodeURIComponent(event.url.pathname + event.url.search)}`);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) error(res.status, body.error?.message ?? failure);
  return body as T;
}

/** GET /api`path` for something a page can do without (e.g. a lesson's video): its body, or null on any refusal. */
export async function loadApiOptional<T>(event: ApiLoadEvent, path: string): Promise<T | null> {
  const res = await event.fetch(`/api${path}`);
  return res.ok ? ((await res.json()) as T) : null;
}
