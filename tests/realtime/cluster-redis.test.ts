// A node's one Redis connection and the cluster state kept on it, through a Redis killed (SIGKILL) and started
// again empty on the same port: one warning for the outage, `down` then `up` once; the node registry takes nobody
// for gone meanwhile, and each part writes back what its node holds (beats, origin claims, presence members,
// WHIP/WHEP session records) as soon as Redis is back, not at its next period; an edge's claim does not take a
// class whose origin has not re-claimed it yet; and the lookups a request waits on fail with 'unavailable' while
// Redis is stalled (SIGSTOP) or gone, instead of waiting for it.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { ClassOrigins } from '../../server/cluster/class-origins.ts';
import { ClusterRedis } from '../../server/cluster/cluster-redis.ts';
import { DomainError } from '../../server/domain-error.ts';
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

  it('lets no edge claim a class its origin has not re-claimed yet after Redis came back empty', async () => {
    const server = await startScratchRedis();
    scratch.push(server);
    const [a, b] = [await node('a', server.url), await node('b', server.url)];
    const classId = randomUUID();
    expect(await a.origins.claim(classId, true)).toBe('a');
    const events: string[] = [];
    a.origins.on('lost', (id) => events.push(`a lost ${id}`));
    b.redis.on('up', () => events.push('b up'));
    a.redis.on('up', () => events.push('a up'));

    await server.kill();
    await expect.poll(() => !a.redis.isReady && !b.redis.isReady).toBe(true);
    const again = await startScratchRedis(server.port);
    scratch.push(again);
    await expect.poll(() => events.filter((e) => e.endsWith(' up')).sort(), { timeout: 15_000 }).toEqual(['a up', 'b up']);
    const reader = createClient({ url: again.url });
    await reader.connect();
    try {
      // The origin wrote its claim back at `up`; removed again, it stands for an origin slower to come back than
      // the edge: the edge's claim (a student joining there) waits for it rather than take the class.
      await expect.poll(() => reader.get(`${prefix}:origin:${classId}`)).toBe('a');
      await reader.del(`${prefix}:origin:${classId}`);
      expect(await b.origins.claim(classId, false)).toBe('a');
      expect(await reader.get(`${prefix}:origin:${classId}`)).toBe('a');
    } finally {
      await reader.close();
    }
    expect(events).not.toContain(`a lost ${classId}`);
  });

  it("answers 'unavailable' to the lookups a request waits on while Redis is stalled or gone", async () => {
    const server = await startScratchRedis();
    scratch.push(server);
    const a = await node('a', server.url);
    const classId = randomUUID();
    expect(await a.origins.claim(classId, true)).toBe('a');
    await a.sessions.of('whep').opened('session-2');
    const lookups = () => [
      a.origins.holder(classId),
      a.origins.claim(randomUUID(), false),
      a.registry.urlOf('a'),
      a.sessions.nodeOf('whep', 'session-2'),
    ];
    const unavailable = async (answers: Promise<unknown>[]) => {
      for (const answer of answers) {
        const err = await answer.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(DomainError);
        expect((err as DomainError).code).toBe('unavailable');
      }
    };

    // Stalled: the connection stays open (isReady) and nothing answers.
    server.freeze(true);
    try {
      await unavailable(lookups());
    } finally {
      server.freeze(false);
    }
    // Nothing was lost: the same lookups answer once Redis does.
    await expect.poll(() => a.origins.holder(classId)).toBe('a');
    expect(await a.registry.urlOf('a')).toBe('http://a.test');
    expect(await a.sessions.nodeOf('whep', 'session-2')).toBe('a');

    await server.kill();
    await expect.poll(() => a.redis.isReady).toBe(false);
    await unavailable(lookups());
  });
});
