// Who may read the operator's views (/metrics, the detailed /health): LECTERN_METRICS_TOKEN as a bearer token,
// an admin's session, or (for /metrics only) a scraper on this machine.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Context } from 'hono';
import { clientIp } from './client-ip.ts';
import type { AppEnv } from './session.ts';

export interface OperatorAccessOptions {
  /** LECTERN_METRICS_TOKEN; unset means only loopback (metrics) and admins (details). */
  token: string | undefined;
  trustProxy: boolean;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class OperatorAccess {
  readonly #token: Buffer | undefined;
  readonly #trustProxy: boolean;

  constructor({ token, trustProxy }: OperatorAccessOptions) {
    this.#token = token ? digest(token) : undefined;
    this.#trustProxy = trustProxy;
  }

  /** The request carries `Authorization: Bearer <LECTERN_METRICS_TOKEN>` (compared in constant time). */
  hasToken(c: Context<AppEnv>): boolean {
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    return !!this.#token && !!match && timingSafeEqual(digest(match[1]!), this.#token);
  }

  isAdmin(c: Context<AppEnv>): boolean {
    return c.get('user')?.role === 'admin';
  }

  /** From this machine; behind a trusted proxy, the forwarded client's address counts, not the proxy's. */
  isLoopback(c: Context<AppEnv>): boolean {
    const ip = clientIp(c, this.#trustProxy);
    return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
  }

  /** Detailed health and the admin-only operator views. */
  mayInspect(c: Context<AppEnv>): boolean {
    return this.hasToken(c) || this.isAdmin(c);
  }

  /** Prometheus scrapes: the token, or a scraper on the same machine. */
  mayScrape(c: Context<AppEnv>): boolean {
    return this.hasToken(c) || this.isLoopback(c);
  }
}
