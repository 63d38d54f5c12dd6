// A class's seats counted over the nodes of a cluster, on the real Redis with real node registries: nodes share
// the cap (concurrent takes from two nodes never pass it), a seat given back on one node is free for the other,
// a node the registry reports gone loses its seats on every other node, and a node clears its own seats when it
// starts again under the same name (its old process killed before anyone saw it gone) and when it closes.
import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { NodeRegistry } from '../../server/cluster/node-registry.ts';
import { RedisClassSeats } from '../../server/cluster/redis-class-seats.ts';
import { REDIS_PREFIX, REDIS_URL, requireRedis } from '../helpers/redis.ts';

const prefix = `${REDIS_PREFIX}:seats`;
const log = pino({ level: 'silent' });
const CAP = 2;

describe('RedisClassSeats', () => {
  const registries: NodeRegistry[] = [];
  const stores: RedisClassSeats[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
    for (const r of registries) await r.close();
  });

  const node = async (nodeName: string): Promise<{ registry: NodeRegistry; seats: RedisClassSeats }> => {
    const registry = await NodeRegistry.start({
      url: REDIS_URL,
      prefix,
      nodeName,
      nodeUrl: () => `http://${nodeName}.test`,
      log,
      beatMs: 200,
    });
    const seats = await RedisClassSeats.start({ url: REDIS_URL, prefix, nodeName, cap: CAP, nodes: registry, log });
    registries.push(registry);
    stores.push(seats);
    return { registry, seats };
  };

  it('shares the cap between nodes, frees seats given back, and the seats of a node gone', async () => {
    await requireRedis();
    const a = await node('a');
    const b = await node('b');
    await a.registry.beat(); // a has seen b: b going is reported to a

    expect(await a.seats.take('class-1')).toBe(true);
    expect(await b.seats.take('class-1')).toBe(true);
    expect(await a.seats.take('class-1')).toBe(false);
    expect(await b.seats.take('class-1')).toBe(false);
    expect(await a.seats.taken('class-1')).toBe(CAP);
    // a's seat given back is free for b (who then holds both).
    await a.seats.release('class-1');
    expect(await b.seats.take('class-1')).toBe(true);
    expect(await a.seats.take('class-1')).toBe(false);

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
    expect(await a.seats.take('class-1')).toBe(true);
  });

  it("clears a node's own seats when it starts again under the same name, and when it closes", async () => {
    const first = await node('c');
    expect(await first.seats.take('class-3')).toBe(true);
    expect(await first.seats.take('class-3')).toBe(true);
    // c's process "restarts" (the old one never said goodbye): the new store clears what the old one held.
    const again = await RedisClassSeats.start({ url: REDIS_URL, prefix, nodeName: 'c', cap: CAP, nodes: first.registry, log });
    stores.push(again);
    expect(await again.taken('class-3')).toBe(0);
    expect(await again.take('class-3')).toBe(true);
    await again.close();
    expect(again.closed).toBe(true);
    expect(await first.seats.taken('class-3')).toBe(0);
    expect(await again.take('class-3')).toBe(false);
  });
});
