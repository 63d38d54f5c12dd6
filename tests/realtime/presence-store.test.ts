// The class presence store on the real Redis, as several nodes write it: one list and one count for the whole
// class whichever node reads it, a person with tabs on two nodes shown once with their best mode, the list capped
// while the count is not, a dead node's members removed once (the first node to clean up gets them back), and a
// stalled Redis answered with a failure instead of a wait.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterRedis } from '../../server/cluster/cluster-redis.ts';
import { PresenceStore, type RosterMember } from '../../server/cluster/presence-store.ts';
import { REDIS_PREFIX, REDIS_URL, requireRedis, startScratchRedis } from '../helpers/redis.ts';

const prefix = `${REDIS_PREFIX}:presence-store`;
const log = pino({ level: 'silent' });

describe('PresenceStore', () => {
  const stores: PresenceStore[] = [];
  let a: PresenceStore;
  let b: PresenceStore;
  const connections: ClusterRedis[] = [];
  const node = async (nodeName: string) => {
    const redis = await ClusterRedis.connect({ url: REDIS_URL, log });
    connections.push(redis);
    return new PresenceStore({ redis, prefix, nodeName, log });
  };

  beforeAll(async () => {
    await requireRedis();
    stores.push((a = await node('a')), (b = await node('b')));
  });
  afterAll(async () => {
    // What each node recorded goes with it (empty class hashes go by themselves).
    for (const s of stores) await s.removeNode(s.nodeName);
    for (const s of stores) await s.close();
    for (const c of connections) await c.close();
  });

  const member = (classId: string, userId: string, role: RosterMember['role'], name = userId): RosterMember => ({
    classId,
    socketId: randomUUID(),
    userId,
    displayName: name,
    role,
    mode: 'waiting',
  });

  it('answers for every node: list, count, tabs on two nodes shown once with their best mode', async () => {
    const classId = randomUUID();
    const teacher = member(classId, 'teacher', 'teacher', 'Teacher');
    const alice = member(classId, 'alice', 'student', 'Alice');
    const aliceTabOnB = { ...member(classId, 'alice', 'student', 'Alice'), socketId: randomUUID() };
    const bob = member(classId, 'bob', 'student', 'Bob');
    await a.enter(teacher);
    await a.enter(alice);
    await b.enter(aliceTabOnB);
    await b.enter(bob);
    await b.setMode(classId, aliceTabOnB.socketId, 'hls');
    await a.setMode(classId, alice.socketId, 'webrtc');

    for (const store of [a, b]) {
      const { viewers, studentCount } = await store.snapshot(classId, 500);
      expect(studentCount).toBe(2);
      // The staff first.
      expect(viewers[0]).toEqual({ userId: 'teacher', displayName: 'Teacher', role: 'teacher', mode: 'waiting' });
      expect(viewers.slice(1).sort((x, y) => x.userId.localeCompare(y.userId))).toEqual([
        { userId: 'alice', displayName: 'Alice', role: 'student', mode: 'webrtc' },
        { userId: 'bob', displayName: 'Bob', role: 'student', mode: 'waiting' },
      ]);
      expect(await store.connected(classId, 'teacher', 'teacher')).toBe(true);
      expect(await store.connected(classId, 'alice', 'student')).toBe(true);
      // Alice counted once, with her WebRTC tab.
      expect(await store.studentModes(classId)).toEqual({ webrtc: 1, hls: 0, waiting: 1 });
    }

    // Alice closes her WebRTC tab on A: she stays, with the mode of her tab on B.
    await a.leave(classId, alice.socketId);
    expect((await b.snapshot(classId, 500)).viewers.find((v) => v.userId === 'alice')?.mode).toBe('hls');
    expect(await b.studentModes(classId)).toEqual({ webrtc: 0, hls: 1, waiting: 1 });
    await b.leave(classId, aliceTabOnB.socketId);
    expect(await a.connected(classId, 'alice', 'student')).toBe(false);
    expect(await a.studentCount(classId)).toBe(1);
    // Leaving twice changes nothing.
    await b.leave(classId, aliceTabOnB.socketId);
    expect(await a.studentCount(classId)).toBe(1);
    expect(await a.studentModes(classId)).toEqual({ webrtc: 0, hls: 0, waiting: 1 });
  });

  it('caps the list it reads but counts every student', async () => {
    const classId = randomUUID();
    await a.enter(member(classId, 'teacher', 'teacher'));
    for (let i = 0; i < 300; i++) await (i % 2 ? a : b).enter(member(classId, `s${i}`, 'student'));
    const { viewers, studentCount } = await a.snapshot(classId, 50);
    expect(studentCount).toBe(300);
    expect(viewers).toHaveLength(50);
    expect(viewers[0]!.role).toBe('teacher');
    expect(new Set(viewers.map((v) => v.userId)).size).toBe(50);
  });

  it("removes a dead node's members once, with their attendance rows, and leaves the other nodes' alone", async () => {
    const classId = randomUUID();
    const c = await node('c');
    stores.push(c);
    const teacherOnC = member(classId, 'teacher', 'teacher');
    const carol = member(classId, 'carol', 'student');
    const dave = member(classId, 'dave', 'student');
    await c.enter(teacherOnC);
    await c.enter(carol);
    await c.attended(classId, carol.socketId, 'attendance-of-carol');
    await a.enter(dave);
    expect(await c.recordedNodes()).toContain('c');

    // Two nodes notice the death at once: one gets the members, the other nothing.
    const [first, second] = await Promise.all([a.removeNode('c'), b.removeNode('c')]);
    const removed = [...first, ...second];
    expect(Math.min(first.length, second.length)).toBe(0);
    expect(removed.sort((x, y) => x.userId.localeCompare(y.userId))).toEqual([
      { ...carol, attendanceId: 'attendance-of-carol' },
      { ...teacherOnC, attendanceId: undefined },
    ]);
    expect(await a.connected(classId, 'teacher', 'teacher')).toBe(false);
    expect(await a.snapshot(classId, 500)).toEqual({
      viewers: [{ userId: 'dave', displayName: 'dave', role: 'student', mode: 'waiting' }],
      studentCount: 1,
    });
    expect(await a.studentModes(classId)).toEqual({ webrtc: 0, hls: 0, waiting: 1 });
    expect(await a.recordedNodes()).not.toContain('c');
  });

  it('records a live node again when another node took it for dead and removed its members', async () => {
    const classId = randomUUID();
    const erin = member(classId, 'erin', 'student');
    await b.enter(erin);
    expect(await a.removeNode('b')).toEqual(expect.arrayContaining([expect.objectContaining({ userId: 'erin' })]));
    expect(await a.connected(classId, 'erin', 'student')).toBe(false);
    await expect.poll(() => a.connected(classId, 'erin', 'student'), { timeout: 10_000 }).toBe(true);
  });

  it('fails a change or a read while Redis stalls instead of waiting, and applies the change once it answers', async () => {
    const redis = await startScratchRedis();
    const connection = await ClusterRedis.connect({ url: redis.url, log });
    const store = new PresenceStore({ redis: connection, prefix, nodeName: 'stalled', log });
    try {
      const classId = randomUUID();
      const frank = member(classId, 'frank', 'student');
      redis.freeze(true);
      await expect(store.enter(frank)).rejects.toThrow(/did not answer/);
      await expect(store.connected(classId, 'frank', 'student')).rejects.toThrow(/did not answer/);
      await expect(store.snapshot(classId, 10)).rejects.toThrow(/did not answer/);
      redis.freeze(false);
      await expect.poll(() => store.connected(classId, 'frank', 'student')).toBe(true);
    } finally {
      redis.freeze(false);
      await store.close();
      await connection.close();
      await redis.kill();
    }
  });
});
