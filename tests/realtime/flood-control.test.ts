// The token buckets behind "slow down", on a controlled clock: in memory (one process) and in Redis (every node
// of a cluster; a key space of this test's own), which must answer alike; what the Redis buckets cost when idle;
// a Redis that is killed and started again; and the CSV cell quoting of the poll export.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FloodControl, type BucketRule, type FloodLimiter } from '../../server/interaction/flood-control.ts';
import { RedisFloodControl } from '../../server/interaction/redis-flood-control.ts';
import { ClusterRedis } from '../../server/cluster/cluster-redis.ts';
import { csvCell } from '../../server/csv.ts';
import { REDIS_PREFIX, REDIS_URL, requireRedis, startScratchRedis, type ScratchRedis } from '../helpers/redis.ts';

/** Whether each of `n` takes in a row was allowed. */
async function takes(flood: FloodLimiter, key: string, rule: BucketRule, n: number): Promise<boolean[]> {
  const allowed = [];
  for (let i = 0; i < n; i++) allowed.push((await flood.take(key, rule)).allowed);
  return allowed;
}

/** The same answers from either kind of bucket, on the clock `now` hands out. */
async function expectTokenBuckets(make: (now: () => number) => FloodLimiter | Promise<FloodLimiter>): Promise<FloodLimiter> {
  let clock = 1_000_000;
  const flood = await make(() => clock);
  const rule = { capacity: 3, refillPerSecond: 2 };
  expect(await takes(flood, 'a', rule, 3)).toEqual([true, true, true]);
  expect(await flood.take('a', rule)).toEqual({ allowed: false, retryAfterMs: 500 });
  expect((await flood.take('b', rule)).allowed).toBe(true); // buckets are per key
  clock += 250;
  expect(await flood.take('a', rule)).toEqual({ allowed: false, retryAfterMs: 250 });
  clock += 250;
  expect(await takes(flood, 'a', rule, 2)).toEqual([true, false]);
  clock += 60_000; // a long pause refills to the capacity, not beyond
  expect(await takes(flood, 'a', rule, 4)).toEqual([true, true, true, false]);
  return flood;
}

function capturedLog() {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines, warnings: () => lines.filter((l) => l.level === 40) };
}

describe('FloodControl (in memory)', () => {
  it('allows the burst, refuses with the time until the next token, and refills at the steady rate', async () => {
    const flood = (await expectTokenBuckets((now) => new FloodControl({ now }))) as FloodControl;
    expect(flood.size).toBe(2);
    flood.close();
    expect(flood.closed).toBe(true);
    expect(flood.size).toBe(0);
  });
});

describe('RedisFloodControl', () => {
  const prefix = `${REDIS_PREFIX}:unit-${randomBytes(3).toString('hex')}`;
  const redis = createClient({ url: REDIS_URL });
  const open: RedisFloodControl[] = [];
  const connections: ClusterRedis[] = [];
  const scratches: ScratchRedis[] = []; // killed in afterAll too, should a test stop half-way
  /** A node's flood limits on its own Redis connection (whose owner logs elsewhere: `log` hears the limits only). */
  const connect = async (options: { now?: () => number; url?: string; log?: pino.Logger } = {}) => {
    const redis = await ClusterRedis.connect({ url: options.url ?? REDIS_URL, log: capturedLog().log });
    connections.push(redis);
    const flood = new RedisFloodControl({ redis, prefix, log: options.log ?? capturedLog().log, now: options.now });
    open.push(flood);
    return flood;
  };
  const keys = async () => (await redis.keys(`${prefix}:*`)).sort();

  beforeAll(async () => {
    await requireRedis();
    await redis.connect();
  });
  afterAll(async () => {
    for (const r of scratches) await r.kill();
    for (const f of open) await f.close();
    for (const c of connections) await c.close();
    if (redis.isOpen) {
      const left = await keys();
      if (left.length > 0) await redis.del(left);
      await redis.quit();
    }
  });

  it('answers like the in-memory buckets, keyed under the deployment prefix', async () => {
    await expectTokenBuckets((now) => connect({ now }));
    expect(await keys()).toEqual([`${prefix}:flood:a`, `${prefix}:flood:b`]);
  });

  it('is one bucket for every node: what one node spends, the other cannot', async () => {
    const [nodeA, nodeB] = [await connect(), await connect()];
    const slow = { capacity: 3, refillPerSecond: 0.001 }; // one token in 1,000 s: no refill while the test runs
    for (let i = 0; i < 2; i++) expect((await nodeA.take('shared', slow)).allowed).toBe(true);
    expect((await nodeB.take('shared', slow)).allowed).toBe(true);
    const refused = await nodeB.take('shared', slow);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterMs).toBeGreaterThan(990_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(1_000_000);
    expect((await nodeA.take('shared', slow)).allowed).toBe(false);
    expect((await nodeA.take('other', slow)).allowed).toBe(true);
  });

  it('lets a bucket expire when it would be full again, so an idle person costs nothing', async () => {
    const flood = await connect();
    await flood.take('idle-slow', { capacity: 2, refillPerSecond: 0.001 }); // full again in 1,000 s
    const ttl = await redis.pTTL(`${prefix}:flood:idle-slow`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1_000_000);
    await flood.take('idle-fast', { capacity: 2, refillPerSecond: 1000 }); // full again in 1 ms
    await expect.poll(() => redis.exists(`${prefix}:flood:idle-fast`), { timeout: 10_000 }).toBe(0);
  });

  it('falls back to per-process buckets while Redis is down or stalled (one warning each time), and shares them again once it is back', async () => {
    const scratch = await startScratchRedis();
    scratches.push(scratch);
    const { log, lines, warnings } = capturedLog();
    const flood = await connect({ url: scratch.url, log });
    const slow = { capacity: 3, refillPerSecond: 0.001 };
    expect(await takes(flood, 'x', slow, 2)).toEqual([true, true]);
    expect(flood.degraded).toBe(false);

    await scratch.kill();
    // This process's bucket for 'x' starts full: the limit holds per node, neither refusing nor allowing everything.
    expect(await takes(flood, 'x', slow, 5)).toEqual([true, true, true, false, false]);
    expect((await flood.take('x', slow)).retryAfterMs).toBeGreaterThan(990_000);
    expect(flood.degraded).toBe(true);
    expect(await takes(flood, 'y', slow, 20)).toEqual([...Array<boolean>(3).fill(true), ...Array<boolean>(17).fill(false)]);
    // The client keeps trying to reconnect meanwhile; still one warning for the whole outage.
    await new Promise((r) => setTimeout(r, 1500));
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]!.msg).toMatch(/Redis does not answer/);

    const again = await startScratchRedis(scratch.port);
    scratches.push(again);
    // Back on Redis (an empty one: nothing was saved): a fresh bucket there, and the node says so once.
    await expect.poll(async () => (await flood.take('z', slow)).allowed && !flood.degraded, { timeout: 20_000 }).toBe(true);
    expect(lines.filter((l) => /Redis answers again/.test(l.msg))).toHaveLength(1);
    expect(await takes(flood, 'x', slow, 4)).toEqual([true, true, true, false]);
    expect(warnings()).toHaveLength(1);

    // A Redis that stops answering without closing its connections: each take gives up after its timeout and
    // uses this process's buckets ('x' is spent there), with a warning again for this second outage.
    again.freeze(true);
    expect(await flood.take('x', slow)).toMatchObject({ allowed: false });
    expect(flood.degraded).toBe(true);
    expect(warnings()).toHaveLength(2);
    again.freeze(false);
    await expect.poll(async () => (await flood.take('w', slow)).allowed && !flood.degraded, { timeout: 20_000 }).toBe(true);
    await flood.close();
    expect(flood.closed).toBe(true);
  });
});

describe('csvCell', () => {
  it('quotes separators and quotes, and defuses spreadsheet formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a, b')).toBe('"a, b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"');
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('+cmd')).toBe("'+cmd");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    // Numbers are data, not formulas; an empty cell is empty.
    expect(csvCell(-5)).toBe('-5');
    expect(csvCell(null)).toBe('');
  });
});
