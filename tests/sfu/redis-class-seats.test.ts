// A class's seats counted over the nodes of a cluster, on real Redis servers with real node registries: nodes
// share the cap (concurrent takes from two nodes never pass it), a seat given back on one node is free for the
// other, a node the registry reports gone loses its seats on every other node, and a node clears its own seats
// when it starts again under the same name (its old process killed before anyone saw it gone) and when it closes.
// A Redis server killed: the node seats up to the cap on its own, and writes what it holds back once Redis is up;
// its fields lost while it lives (another node took it for gone) are written back within its rewrite period.
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ClusterRedis } from '../../server/cluster/cluster-redis.ts';
import { NodeRegistry } from '../../server/cluster/node-registry.ts';
import { RedisClassSeats } from '../../server/cluster/redis-class-seats.ts';
import type { ClassSeat } from '../../server/sfu/class-seats.ts';
import { REDIS_PREFIX, REDIS_URL, requireRedis, startScratchRedis, type ScratchRedis } from '../helpers/redis.ts';

const prefix = `${REDIS_PREFIX}:seats`;
const log = pino({ level: 'silent' });
const CAP = 2;

describe('RedisClassSeats', () => {
  const registries: NodeRegistry[] = [];
  const stores: RedisClassSeats[] = [];
  const scratch: ScratchRedis[] = [];
  const connections: ClusterRedis[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
    for (const r of registries) await r.close();
    for (const c of connections) await c.close();
    for (const r of scratch) await r.kill();
  });

  const connect = async (url: string): Promise<ClusterRedis> => {
    const redis = await ClusterRedis.connect({ url, log });
    connections.push(redis);
    return redis;
  };

  /** A node's registry and seats; its seats are written again every `rewriteMs` (by default, not within a test: a dead node's). */
  const node = async (
    nodeName: string,
    url = REDIS_URL,
    rewriteMs = 3_600_000,
  ): Promise<{ registry: NodeRegistry; seats: RedisClassSeats }> => {
    const registry = await NodeRegistry.start({
      redis: await connect(REDIS_URL),
      prefix,
      nodeName,
      nodeUrl: () => `http://${nodeName}.test`,
      log,
      beatMs: 200,
    });
    registries.push(registry);
    // The seats on `url`, which may be a Redis of the test's own, to kill (the registry stays on the shared one).
    const seats = await RedisClassSeats.start({ redis: await connect(url), prefix, nodeName, cap: CAP, nodes: registry, log, rewriteMs });
    stores.push(seats);
    return { registry, seats };
  };

  it('shares the cap between nodes, frees seats given back, and the seats of a node gone', async () => {
    await requireRedis();
    const a = await node('a');
    const b = await node('b');
    await a.registry.beat(); // a has seen b: b going is reported to a

    const seatOfA = await a.seats.take('class-1');
    expect(seatOfA).toBeDefined();
    expect(await b.seats.take('class-1')).toBeDefined();
    expect(await a.seats.take('class-1')).toBeUndefined();
    expect(await b.seats.take('class-1')).toBeUndefined();
    expect(await a.seats.taken('class-1')).toBe(CAP);
    // a's seat given back (once, however often it is released) is free for b, who then holds both.
    seatOfA!.release();
    seatOfA!.release();
    await expect.poll(() => b.seats.taken('class-1')).toBe(CAP - 1);
    expect(await b.seats.take('class-1')).toBeDefined();
    expect(await a.seats.take('class-1')).toBeUndefined();

    // Twenty takes at once from both nodes in another class: exactly the cap succeed.
    const took = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).seats.take('class-2')));
    expect(took.filter(Boolean)).toHaveLength(CAP);
    expect(await b.seats.taken('class-2')).toBe(CAP);

    // b leaves the cluster without giving anything back: once a's registry reports it gone, b's seats are free.
    const gone = new Promise<string>((resolve) => a.registry.once('gone', resolve));
    await b.registry.close();
    await a.registry.beat();
    expect(await gone).toBe('b');
    await expect.poll(() => a.seats.taken('class-1')).toBe(0);
    expect(await a.seats.take('class-1')).toBeDefined();
  });

  it("clears a node's own seats when it starts again under the same name, and when it closes", async () => {
    const first = await node('c');
    expect(await first.seats.take('class-3')).toBeDefined();
    expect(await first.seats.take('class-3')).toBeDefined();
    // c's process "restarts" (the old one never said goodbye): the new store clears what the old one held.
    const again = await RedisClassSeats.start({
      redis: await connect(REDIS_URL),
      prefix,
      nodeName: 'c',
      cap: CAP,
      nodes: first.registry,
      log,
    });
    stores.push(again);
    expect(await again.taken('class-3')).toBe(0);
    expect(await again.take('class-3')).toBeDefined();
    await again.close();
    expect(again.closed).toBe(true);
    expect(await first.seats.taken('class-3')).toBe(0);
    expect(await again.take('class-3')).toBeUndefined();
  });

  it('seats up to the cap on its own while Redis is away, and writes the seats it holds back once Redis is up again', async () => {
    const redis = await startScratchRedis();
    scratch.push(redis);
    const d = await node('d', redis.url);
    const before = await d.seats.take('class-4');
    expect(before).toBeDefined();

    await redis.kill();
    // No waiting for Redis: the node's own seats count, up to the cap.
    const during = await d.seats.take('class-4');
    expect(during).toBeDefined();
    expect(d.seats.degraded).toBe(true);
    expect(await d.seats.take('class-4')).toBeUndefined();
    expect(await d.seats.taken('class-4')).toBe(CAP);
    before!.release();

    // A new, empty Redis on the same port: the node writes its one remaining seat there.
    scratch.push(await startScratchRedis(redis.port));
    await expect.poll(() => d.seats.degraded, { timeout: 15_000 }).toBe(false);
    const reader = createClient({ url: redis.url });
    await reader.connect();
    try {
      expect(await reader.hGetAll(`${prefix}:seats:class-4`)).toEqual({ d: '1' });
    } finally {
      await reader.close();
    }
    const after: (ClassSeat | undefined)[] = [await d.seats.take('class-4'), await d.seats.take('class-4')];
    expect(after.map(Boolean)).toEqual([true, false]);
  });

  it('writes its seats back when they were dropped while it lives (taken for gone when it was only slow)', async () => {
    const e = await node('e', REDIS_URL, 200);
    const first = await e.seats.take('class-5');
    expect(await e.seats.take('class-5')).toBeDefined();
    const reader = createClient({ url: REDIS_URL });
    await reader.connect();
    try {
      // What another node does on a wrong gone(e): e's field goes.
      await reader.hDel(`${prefix}:seats:class-5`, 'e');
      expect(await e.seats.taken('class-5')).toBe(0);
      await expect.poll(() => e.seats.taken('class-5'), { timeout: 10_000 }).toBe(CAP);
      first!.release();
      await expect.poll(() => reader.hGetAll(`${prefix}:seats:class-5`)).toEqual({ e: '1' });
    } finally {
      await reader.close();
    }
  });
});
