// Chat flood limits across two server processes sharing Redis: a student with a socket on each node gets one
// cluster-wide bucket (the burst once, not once per node), is told when to try again, and nobody else pays for it.
import { performance } from 'node:perf_hooks';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../server/contracts/interaction.ts';
import type { Ack } from '../../server/contracts/realtime.ts';
import { FLOOD_RULES } from '../../server/interaction/interaction.ts';
import { registerUser } from '../helpers/http-client.ts';
import { startProcessPair, type ProcessPair } from '../helpers/process-pair.ts';
import { call, joinAs, ok } from '../helpers/socket-client.ts';
import { createLiveClass, type Person } from './class-fixture.ts';

describe('chat flood limits shared by the nodes of a cluster', () => {
  let pair: ProcessPair;
  const sockets: Socket[] = [];
  let alice: Person;
  let bob: Person;
  let classId: string;

  beforeAll(async () => {
    pair = await startProcessPair('flood');
    const teacher = await registerUser(pair.a.url, 'teacher', 'Teacher');
    alice = await registerUser(pair.a.url, 'student', 'Alice on A and B');
    bob = await registerUser(pair.b.url, 'student', 'Bob on B');
    classId = await createLiveClass(pair.database.db, teacher, [alice, bob]);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await pair?.stop();
  });

  it('refuses a student flooding from both nodes after one burst, with the time to wait, and not the others', async () => {
    const [aliceOnA, aliceOnB, bobOnB] = await Promise.all([
      joinAs(pair.a.url, alice, classId),
      joinAs(pair.b.url, alice, classId),
      joinAs(pair.b.url, bob, classId),
    ]);
    sockets.push(aliceOnA, aliceOnB, bobOnB);

    // As fast as possible: every message on both sockets at once.
    const perSocket = 8;
    const started = performance.now();
    const [onA, onB] = await Promise.all(
      [aliceOnA, aliceOnB].map((socket, s) =>
        Promise.all(Array.from({ length: perSocket }, (_, i) => call<ChatMessage>(socket, 'chat:send', { body: `flood ${s}-${i}` }))),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const accepted = [...onA!, ...onB!].filter((r) => r.ok).length;
    // One bucket: the burst, plus what refilled while the messages were answered (a bucket per node would accept
    // twice the burst). The bound follows the elapsed time; nothing asserts how long it took.
    const { capacity, refillPerSecond } = FLOOD_RULES.chat;
    expect(accepted).toBeGreaterThanOrEqual(capacity);
    expect(accepted).toBeLessThanOrEqual(capacity + Math.ceil(seconds * refillPerSecond));
    for (const answers of [onA!, onB!]) {
      const refused = answers.find((r): r is Extract<Ack<ChatMessage>, { ok: false }> => !r.ok);
      expect(refused?.error.code).toBe('slow_down');
      expect(refused?.error.message).toMatch(/^Slow down: you are sending too fast\. Try again in [1-9]\d* s\.$/);
    }

    // Bob, on the node that refused Alice, is not limited by her.
    expect((await ok<ChatMessage>(bobOnB, 'chat:send', { body: 'hello from Bob' })).body).toBe('hello from Bob');
  });
});
