// Unsubscribing and mail preferences:
//   POST /mail/unsubscribe?token=   RFC 8058 one-click (mail clients post it from their servers: no cookie,
//                                   no origin, hence outside /api and its CSRF check)
//   GET  /mail/unsubscribe?token=   a person who opened the header's link: to the confirmation page
//   GET  /api/mail/unsubscribe?token=, POST /api/mail/unsubscribe {token}   what the /unsubscribe page uses
//   GET  /api/account/mail-preferences, PUT {topics}   the profile's switches
import { Hono } from 'hono';
import { z } from 'zod';
import { MailPreferencesBody, UnsubscribeBody, type MailTopic } from '../../contracts/mail.ts';
import type { MailPreferences } from '../../mail/mail-preferences.ts';
import type { Logger } from '../../log.ts';
import { ApiFailure } from '../errors.ts';
import { requireUser, type AppEnv } from '../session.ts';
import { jsonBody, queryParams } from '../validate.ts';

export interface MailRouteDeps {
  preferences: MailPreferences;
  log: Logger;
}

const TokenQuery = z.object({ token: z.string().min(10).max(400) });

function readToken(preferences: MailPreferences, token: string): { address: string; topic: MailTopic } {
  const read = preferences.readToken(token);
  if (!read) throw new ApiFailure(400, 'invalid_token', 'This unsubscribe link is not valid (it may have been cut short)');
  return read;
}

/** The public one-click endpoint, mounted at /mail. */
export function oneClickUnsubscribeRoutes(deps: MailRouteDeps) {
  return new Hono<AppEnv>()
    .post('/unsubscribe', async (c) => {
      const { token } = queryParams(c, TokenQuery);
      const { address, topic } = readToken(deps.preferences, token);
      await deps.preferences.set(address, topic, false);
      deps.log.info({ topic }, 'unsubscribed (one-click)');
      return c.text('Unsubscribed.\n');
    })
    .get('/unsubscribe', (c) => {
      const { token } = queryParams(c, TokenQuery);
      return c.redirect(`/unsubscribe?token=${encodeURIComponent(token)}`, 303);
    });
}

/** The page's and the profile's JSON API, mounted at /api. */
export function mailPreferenceRoutes(deps: MailRouteDeps) {
  return new Hono<AppEnv>()
    .get('/mail/unsubscribe', async (c) => {
      const { token } = queryParams(c, TokenQuery);
      const { address, topic } = readToken(deps.preferences, token);
      return c.json({ address, topic, subscribed: !(await deps.preferences.optedOut(address, topic)) });
    })
    .post('/mail/unsubscribe', async (c) => {
      const { token } = await jsonBody(c, UnsubscribeBody);
      const { address, topic } = readToken(deps.preferences, token);
      await deps.preferences.set(address, topic, false);
      deps.log.info({ topic }, 'unsubscribed');
      return c.json({ address, topic, subscribed: false });
    })
    .get('/account/mail-preferences', async (c) => {
      const user = requireUser(c);
      return c.json({ topics: await deps.preferences.forAddress(user.email) });
    })
    .put('/account/mail-preferences', async (c) => {
      const user = requireUser(c);
      const { topics } = await jsonBody(c, MailPreferencesBody);
      for (const [topic, wanted] of Object.entries(topics) as [MailTopic, boolean][]) {
        await deps.preferences.set(user.email, topic, wanted);
      }
      return c.json({ topics: await deps.preferences.forAddress(user.email) });
    });
}
