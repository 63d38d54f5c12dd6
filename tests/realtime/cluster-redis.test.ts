// A node's one Redis connection and the cluster state kept on it, through a Redis killed (SIGKILL) and started
// again empty on the same port: one warning for the outage, `down` then `up` once; the node registry takes nobody
// for gone meanwhile, and each part writes back what its node holds (beats, origin claims, presence members,
// WHIP/WHEP session records) as soon as Redis is back, not at its next period.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { ClassOrigins } from '../../server/cluster/class-origins.ts';
import { ClusterRedis } from '../../server/cluster/cluster-redis.ts';
import { NodeRegistry } from '../../server/cluster/node-registry.ts';
import { PresenceStore } from '../../server/cluster/presence-store.ts';
import { SessionNodes } from '../../server/cluster/session-nodes.ts';
import { REDIS_PREFIX, startScratchRedis, type ScratchRedis } from '../helpers/redis.ts';

const prefix = `${REDIS_PREFIX}:cluster-redis`;

function capturedLog() {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe('ClusterRedis', () => {
  const closers: (() => Promise<void>)[] = [];
  const scratch: ScratchRedis[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    for (const r of scratch) await r.kill();
  });

  /** One node's parts on its own connection, as main.ts makes them. */
  const node = async (nodeName: string, url: string) => {
    const { log, lines } = capturedLog();
    const redis = await ClusterRedis.connect({ url, log });
    const parts = { redis, prefix, nodeName, log };
    const registry = await NodeRegistry.start({ ...parts, nodeUrl: () => `http://${nodeName}.test`, beatMs: 200 });
    const origins = new ClassOrigins(parts);
    const presence = new PresenceStore(parts);
    const sessions = new SessionNodes(parts);
    closers.push(
      () => redis.close(),
      () => presence.close(),
      () => sessions.close(),
      () => origins.close(),
      () => registry.close(),
    );
    return { redis, registry, origins, presence, sessions, lines };
  };

  it('says an outage once, takes nobody for gone, and writes back what each node holds once Redis is back empty', async () => {
    const server = await startScratchRedis();
    scratch.push(server);
    const [a, b] = [await node('a', server.url), await node('b', server.url)];
    await a.registry.beat();
    expect(a.registry.alive().sort()).toEqual(['a', 'b']);
    const classId = randomUUID();
    expect(await a.origins.claim(classId, true)).toBe('a');
    expect(await b.origins.claim(classId, false)).toBe('a');
    const member = { classId, userId: 'u', displayName: 'U', role: 'student' as const, mode: 'waiting' as const };
    await a.presence.enter({ ...member, socketId: 's-a' });
    await b.presence.enter({ ...member, userId: 'v', displayName: 'V', socketId: 's-b' });
    await a.sessions.of('whip').opened('session-1');
    const events: string[] = [];
    for (const [name, n] of [
      ['a', a],
      ['b', b],
    ] as const) {
      n.redis.on('down', () => events.push(`${name} down`));
      n.redis.on('up', () => events.push(`${name} up`));
      n.registry.on('gone', (node) => events.push(`${name} saw ${node} gone`));
      n.origins.on('lost', (id) => events.push(`${name} lost ${id}`));
    }
    const restored = new Promise<string[]>((resolve) => a.presence.once('restored', resolve));

    await server.kill();
    await expect.poll(() => !a.redis.isReady && !b.redis.isReady).toBe(true);
    // Several reconnections fail meanwhile (and beats are skipped): still one warning per node.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const again = await startScratchRedis(server.port);
    scratch.push(again);
    await expect.poll(() => events.filter((e) => e.endsWith(' up')).sort(), { timeout: 15_000 }).toEqual(['a up', 'b up']);
    expect(await restored).toEqual([classId]);
    // An edge that finds no holder now must wait: the holder writes its claim again.
    expect(b.origins.settling).toBe(true);

    const reader = createClient({ url: again.url });
    await reader.connect();
    try {
      await expect.poll(() => b.origins.holder(classId)).toBe('a');
      await expect.poll(async () => (await b.presence.snapshot(classId, 10)).studentCount).toBe(2);
      expect(await a.sessions.nodeOf('whip', 'session-1')).toBe('a');
      await expect.poll(() => reader.zRange(`${prefix}:nodes`, 0, -1).then((n) => n.sort())).toEqual(['a', 'b']);
      // Past the registry's settling time (three beats), both still alive for each other.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await a.registry.beat();
      await b.registry.beat();
      expect(a.registry.alive().sort()).toEqual(['a', 'b']);
      expect(b.registry.alive().sort()).toEqual(['a', 'b']);
    } finally {
      await reader.close();
    }
    expect(events.sort()).toEqual(['a down', 'a up', 'b down', 'b up']);
    for (const n of [a, b]) {
      expect(n.lines.filter((l) => l.level === 40 && /Redis does not answer/.test(l.msg))).toHaveLength(1);
      expect(n.lines.filter((l) => /Redis answers again/.test(l.msg))).toHaveLength(1);
    }
  });
});
