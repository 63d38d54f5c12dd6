// The one way a request's session is read and its cookie written: the HTTP API (http/session.ts), the pages'
// server hook (app/src/hooks.server.ts, through the page server) and the Socket.io handshake
// (realtime/socket-server.ts) all resolve the same Cookie header here and answer the same Set-Cookie lines.
import { parseCookie, stringifySetCookie, type SetCookie } from 'cookie';
import type { Session } from '../db/schema.ts';
import { SESSION_COOKIE, type SessionStore, type SessionUser } from './session-store.ts';

export interface ResolvedSession {
  user: SessionUser;
  session: Session;
}

export interface SessionResolution {
  /** The logged-in user and their session, or null (no cookie, or one that is no longer valid). */
  current: ResolvedSession | null;
  /** Set-Cookie header values to send back: the cookie again when its session slid, or its removal when dead. */
  setCookie: string[];
}

export class SessionCookies {
  readonly #sessions: SessionStore;
  readonly #secure: boolean;

  /** `secure`: the product is served over https (LECTERN_ORIGIN), so the cookie never travels in the clear. */
  constructor(sessions: SessionStore, options: { secure: boolean }) {
    this.#sessions = sessions;
    this.#secure = options.secure;
  }

  /** The session token a Cookie header carries, if any. */
  static token(cookieHeader: string | null | undefined): string | undefined {
    return cookieHeader ? parseCookie(cookieHeader)[SESSION_COOKIE] : undefined;
  }

  /** Validates the Cookie header's session (sliding its expiry) and says which cookie to send back. */
  async resolve(cookieHeader: string | null | undefined): Promise<SessionResolution> {
    const token = SessionCookies.token(cookieHeader);
    if (!token) return { current: null, setCookie: [] };
    const result = await this.#sessions.validate(token);
    if (!result) return { current: null, setCookie: [this.clear()] };
    const current = { user: result.user, session: result.session };
    return { current, setCookie: result.refreshed ? [this.issue(token, result.session.expiresAt)] : [] };
  }

  /** The Set-Cookie value that hands a new (or slid) session to the browser. */
  issue(token: string, expiresAt: Date): string {
    return this.#cookie({ name: SESSION_COOKIE, value: token, expires: expiresAt });
  }

  /** The Set-Cookie value that removes the session cookie (logout, or a session that ended). */
  clear(): string {
    return this.#cookie({ name: SESSION_COOKIE, value: '', maxAge: 0, expires: new Date(0) });
  }

  #cookie(cookie: SetCookie): string {
    return stringifySetCookie({ ...cookie, path: '/', httpOnly: true, sameSite: 'lax', secure: this.#secure });
  }
}
