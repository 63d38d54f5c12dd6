// Short-lived signed media URLs. A token names what it opens (a live class, a recording or an uploaded
// lesson's video), who it was issued to and when it expires, signed with HMAC-SHA256: any server (or a CDN
// edge holding the secret) can check it without a session. Tokens go in the query string, so CDNs can cache segments on the path alone.
import crypto from 'node:crypto';

export type MediaScopeKind = 'class' | 'recording' | 'lesson';
export type MediaScope = { kind: MediaScopeKind; id: string };

export interface MediaClaims {
  scope: MediaScope;
  userId: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export type TokenCheck =
  { ok: true; claims: MediaClaims } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' | 'wrong_scope' };

/** One letter per kind in the signed payload: a token for one kind never opens another, whatever the id. */
const KIND_KEY: Record<MediaScopeKind, string> = { class: 'c', recording: 'r', lesson: 'l' };
const scopeKey = (s: MediaScope) => `${KIND_KEY[s.kind]}:${s.id}`;

export class MediaTokens {
  readonly #secret: Buffer;
  readonly ttlSeconds: number;

  /** Without a configured secret, a random one per process (tokens then do not survive a restart). */
  constructor(secret: string | undefined, ttlSeconds = 600) {
    this.#secret = secret ? Buffer.from(secret, 'utf8') : crypto.randomBytes(32);
    this.ttlSeconds = ttlSeconds;
  }

  sign(scope: MediaScope, userId: string, ttlSeconds = this.ttlSeconds, now = Date.now()): { token: string; expiresAt: Date } {
    const exp = Math.floor(now / 1000) + ttlSeconds;
    const payload = Buffer.from(`${scopeKey(scope)}|${userId}|${exp}`, 'utf8').toString('base64url');
    return { token: `${payload}.${this.#mac(payload)}`, expiresAt: new Date(exp * 1000) };
  }

  verify(token: string | undefined, scope: MediaScope, now = Date.now()): TokenCheck {
    if (!token || token.length > 512) return { ok: false, reason: 'malformed' };
    const dot = token.indexOf('.');
    if (dot <= 0) return { ok: false, reason: 'malformed' };
    const payload = token.slice(0, dot);
    const mac = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.#mac(payload), 'base64url');
    if (mac.length !== expected.length || !crypto.timingSafeEqual(mac, expected)) return { ok: false, reason: 'bad_signature' };
    const [key, userId, expText] = Buffer.from(payload, 'base64url').toString('utf8').split('|');
    const exp = Number(expText);
    if (!key || !userId || !Number.isInteger(exp)) return { ok: false, reason: 'malformed' };
    if (exp * 1000 <= now) return { ok: false, reason: 'expired' };
    if (key !== scopeKey(scope)) return { ok: false, reason: 'wrong_scope' };
    return { ok: true, claims: { scope, userId, exp } };
  }

  #mac(payload: string): string {
    return crypto.createHmac('sha256', this.#secret).update(payload).digest('base64url');
  }
}
