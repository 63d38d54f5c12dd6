import type { Handle } from '@sveltejs/kit/hooks';
// Only reads the process-wide slot that server/main.ts fills: bundling this copy creates no second state.
import { currentServices } from '../../server/services.ts';
import { SESSION_COOKIE } from '@lectern/contracts/auth';

export const handle: Handle = async ({ event, resolve }) => {
  event.locals.user = null;
  const token = event.cookies.get(SESSION_COOKIE);
  if (token) {
    const services = currentServices();
    const result = await services.sessions.validate(token);
    if (result) {
      event.locals.user = result.user;
      if (result.refreshed) {
        event.cookies.set(SESSION_COOKIE, token, {
          path: '/',
          httpOnly: true,
          sameSite: 'lax',
          secure: services.config.secureCookies,
          expires: result.session.expiresAt,
        });
      }
    } else {
      event.cookies.delete(SESSION_COOKIE, { path: '/' });
    }
  }
  return resolve(event);
};
