import type { PageLoad } from './$types';
import { loadApi } from '#lib/api/load.ts';
import type { ActiveSession, Profile } from '@lectern/contracts/account';
import type { MailPreferences } from '@lectern/contracts/mail';

// Rendered in the browser from the API (which checks who is asking).
export const ssr = false;

export const load: PageLoad = async (event) => {
  const [{ profile }, { sessions }, { topics }] = await Promise.all([
    loadApi<{ profile: Profile }>(event, '/account', 'Log in to see your profile'),
    loadApi<{ sessions: ActiveSession[] }>(event, '/account/sessions', 'Could not load your sessions'),
    loadApi<{ topics: MailPreferences }>(event, '/account/mail-preferences', 'Could not load your mail settings'),
  ]);
  return { profile, sessions, topics };
};
