// Redis lookups a relay makes for every request (which node holds a class, a node's URL), each remembered for a
// moment: a live player asks for a playlist several times a second, and every ask would otherwise be a round trip.
export class RecentLookups<T> {
  readonly #lookup: (key: string) => Promise<T>;
  readonly #ms: number;
  readonly #max: number;
  readonly #memo = new Map<string, { at: number; value: Promise<T> }>();

  /** Answers are kept `ms`, at most `max` of them; a failed lookup is not kept (the next get() tries again). */
  constructor(lookup: (key: string) => Promise<T>, options: { ms: number; max: number }) {
    this.#lookup = lookup;
    this.#ms = options.ms;
    this.#max = options.max;
  }

  get(key: string): Promise<T> {
    const now = Date.now();
    const memo = this.#memo.get(key);
    if (memo && now - memo.at < this.#ms) return memo.value;
    if (this.#memo.size >= this.#max) this.#memo.clear();
    const value = this.#lookup(key);
    const kept = { at: now, value };
    this.#memo.set(key, kept);
    value.catch(() => {
      if (this.#memo.get(key) === kept) this.#memo.delete(key);
    });
    return value;
  }

  /** The next get() looks `key` up again (what was remembered turned out wrong). */
  forget(key: string): void {
    this.#memo.delete(key);
  }
}
