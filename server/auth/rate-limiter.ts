// Fixed-window attempt counter keyed by any string (e.g. ip + email for logins). In memory: good for one
// process; with several processes each keeps its own window, which only makes the limit looser by a factor.
export interface RateLimitResult {
  allowed: boolean;
  remaining: number;
  /** Seconds until the window resets */
  retryAfter: number;
}

export class RateLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #hits = new Map<string, { count: number; resetAt: number }>();

  constructor(options: { max: number; windowMs: number; now?: () => number }) {
    this.#max = options.max;
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? Date.now;
  }

  /** Records one attempt and says whether it is allowed. */
  hit(key: string): RateLimitResult {
    const now = this.#now();
    let entry = this.#hits.get(key);
    if (!entry || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + this.#windowMs };
      this.#hits.set(key, entry);
      if (this.#hits.size > 10_000) this.#sweep(now);
    }
    entry.count++;
    return {
      allowed: entry.count <= this.#max,
      remaining: Math.max(0, this.#max - entry.count),
      retryAfter: Math.ceil((entry.resetAt - now) / 1000),
    };
  }

  reset(key: string): void {
    this.#hits.delete(key);
  }

  #sweep(now: number): void {
    for (const [key, entry] of this.#hits) if (entry.resetAt <= now) this.#hits.delete(key);
  }
}
