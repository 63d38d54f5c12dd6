// Page loads that read /api from the browser (pages with ssr = false): the API applies every permission check,
// and a refusal becomes SvelteKit's error page with the server's own message.
import { error } from '@sveltejs/kit';

/** GET /api`path` and return its body; on a non-2xx answer, the error page (`failure` when it says nothing). */
export async function loadApi<T>(fetch: typeof globalThis.fetch, path: string, failure: string): Promise<T> {
  const res = await fetch(`/api${path}`);
  const body = await res.json();
  if (!res.ok) error(res.status, body.error?.message ?? failure);
  return body as T;
}
