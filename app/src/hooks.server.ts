import type { Handle } from '@sveltejs/kit/hooks';
// Reads the process-wide page facade that server/main.ts publishes: bundling this copy creates no second state.
import { pageServer } from '../../server/pages/page-server.ts';

/** Resolves the session cookie exactly as the API and the socket do, and answers its Set-Cookie lines. */
export const handle: Handle = async ({ event, resolve }) => {
  const { user, setCookie } = await pageServer().session(event.request.headers.get('cookie'));
  event.locals.user = user;
  const response = await resolve(event);
  for (const value of setCookie) response.headers.append('set-cookie', value);
  return response;
};
