// A short memo of "may this user still open this thing's media?" for the token-authenticated media routes:
// players fetch a playlist every second or two, and each fetch re-checks access rather than trusting the
// signed URL alone. The memo lives in one process. The process that handles a change (an unenrollment, a
// removal) forgets at once; other processes (several behind a load balancer) stay stale for at most the
// lifetime of an entry, hence a lifetime of a few seconds: a revoked viewer loses the stream within
// ACCESS_CACHE_MS everywhere, at the price of one permission query per viewer per few seconds.
export const ACCESS_CACHE_MS = 5_000;

export interface AccessCacheOptions {
  ttlMs?: number;
  /** Past this many remembered decisions the memo starts over (it is only a cache). */
  maxEntries?: number;
  now?: () => number;
}

export class AccessCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** userId -> (resource id -> decision). */
  readonly #byUser = new Map<string, Map<string, { allowed: boolean; until: number }>>();
  #size = 0;
  /** Bumped by forget(): a decision computed before a forget is not stored after it. */
  #generation = 0;

  constructor(options: AccessCacheOptions = {}) {
    this.#ttlMs = options.ttlMs ?? ACCESS_CACHE_MS;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** The remembered decision for (userId, id), or `decide()`'s answer, remembered for the lifetime. */
  async check(userId: string, id: string, decide: () => Promise<boolean>): Promise<boolean> {
    const hit = this.#byUser.get(userId)?.get(id);
    if (hit && hit.until > this.#now()) return hit.allowed;
    const generation = this.#generation;
    const allowed = await decide();
    if (generation !== this.#generation) return allowed;
    if (this.#size >= this.#maxEntries) this.#clear();
    let mine = this.#byUser.get(userId);
    if (!mine) this.#byUser.set(userId, (mine = new Map()));
    if (!mine.has(id)) this.#size++;
    mine.set(id, { allowed, until: this.#now() + this.#ttlMs });
    return allowed;
  }

  /** Forgets one user's decisions (their enrollment changed), or everyone's. */
  forget(userId?: string): void {
    this.#generation++;
    if (userId === undefined) return this.#clear();
    this.#size -= this.#byUser.get(userId)?.size ?? 0;
    this.#byUser.delete(userId);
  }

  #clear(): void {
    this.#byUser.clear();
    this.#size = 0;
  }
}
