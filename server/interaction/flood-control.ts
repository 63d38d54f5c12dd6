// Per-user token buckets: each kind of action (chat, question, reaction...) has a burst and a steady rate.
// FloodLimiter is what the class features use. FloodControl keeps the buckets in this process's memory: the single
// process without Redis (`npm start`), and the fallback of RedisFloodControl (redis-flood-control.ts), which keeps
// them in Redis when REDIS_URL is set so that a person's sockets on several nodes of a cluster share one bucket.
export interface BucketRule {
  /** Tokens available at once (the burst). */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
}

export interface TakeResult {
  allowed: boolean;
  /** How long until one token is back, when not allowed. */
  retryAfterMs: number;
}

/** A bucket per key, the same answers wherever the buckets are kept. */
export interface FloodLimiter {
  /** Takes one token from the bucket `key` (created full with `rule` on first use). */
  take(key: string, rule: BucketRule): Promise<TakeResult>;
  close(): void | Promise<void>;
  readonly closed: boolean;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  rule: BucketRule;
}

export class FloodControl implements FloodLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;
  readonly #sweep: NodeJS.Timeout;
  #closed = false;

  constructor(options: { now?: () => number; sweepIntervalMs?: number } = {}) {
    this.#now = options.now ?? Date.now;
    // Forget buckets that have refilled completely: they hold nothing a fresh bucket would not.
    this.#sweep = setInterval(() => this.#forgetFull(), options.sweepIntervalMs ?? 60_000);
    this.#sweep.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  get size(): number {
    return this.#buckets.size;
  }

  take(key: string, rule: BucketRule): Promise<TakeResult> {
    return Promise.resolve(this.takeNow(key, rule));
  }

  /** take(), answered at once (no I/O here). */
  takeNow(key: string, rule: BucketRule): TakeResult {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: rule.capacity, updatedAt: now, rule };
      this.#buckets.set(key, bucket);
    }
    this.#refill(bucket, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, retryAfterMs: 0 };
    }
    return { allowed: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) / rule.refillPerSecond) * 1000) };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#buckets.clear();
  }

  #refill(bucket: Bucket, now: number): void {
    const elapsed = Math.max(0, now - bucket.updatedAt) / 1000;
    bucket.tokens = Math.min(bucket.rule.capacity, bucket.tokens + elapsed * bucket.rule.refillPerSecond);
    bucket.updatedAt = now;
  }

  #forgetFull(): void {
    const now = this.#now();
    for (const [key, bucket] of this.#buckets) {
      this.#refill(bucket, now);
      if (bucket.tokens >= bucket.rule.capacity) this.#buckets.delete(key);
    }
  }
}
