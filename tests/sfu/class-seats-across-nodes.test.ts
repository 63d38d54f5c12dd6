// A class's WebRTC cap (LECTERN_MAX_WEBRTC_VIEWERS) over two nodes (PostgreSQL + Redis): the cap is the class's,
// not each node's. With a cap of 2, one student on each node gets WebRTC and the next, on either node, watches the
// broadcast with the class-cap reason, and a WHEP player is refused (503) with it too; a student leaving on one
// node frees a seat for a student on the other. A node holding seats is then SIGKILLed: the node registry sees it
// gone and its seats are free on the surviving node (a student and a WHEP player take them), and no more.
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { startProcessPair, type ProcessPair } from '../helpers/process-pair.ts';
import { joinAs, ok } from '../helpers/socket-client.ts';
import { createLiveClass } from '../realtime/class-fixture.ts';
import { goLiveWithSendTransport, produceFake } from './fixtures.ts';
import { viewerOffer } from './whep-clients.ts';

const CAP = 2;
const CLASS_CAP = new RegExp(`This class's ${CAP} real-time seats are taken`);

let pair: ProcessPair;
let teacher: RegisteredUser;
const students: RegisteredUser[] = [];
let classId: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  pair = await startProcessPair('seats', { LECTERN_MAX_WEBRTC_VIEWERS: String(CAP), LOG_LEVEL: 'info' });
  teacher = await registerUser(pair.a.url, 'teacher', 'Teacher on A');
  for (let i = 1; i <= 6; i++) students.push(await registerUser(pair.a.url, 'student', `Student ${i}`));
  classId = await createLiveClass(pair.database.db, teacher, students, 'Seats across nodes');
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await pair?.stop();
});

const join = async (url: string, person: RegisteredUser): Promise<Socket> => {
  const socket = await joinAs(url, person, classId);
  sockets.push(socket);
  return socket;
};

/** A WHEP player's POST to `url`'s node, with the person's cookie. */
const playWhep = (url: string, person: RegisteredUser): Promise<Response> =>
  fetch(`${url}/api/classes/${classId}/whep`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', cookie: person.client.cookieHeader },
    body: viewerOffer(),
  });

/** How the student's media session goes: WebRTC, or HLS with the reason. */
const joinMedia = async (socket: Socket, rtpCapabilities: unknown): Promise<{ mode: string; reason?: string }> =>
  ok(socket, 'sfu:join', { rtpCapabilities });

describe('a class cap counted over the whole cluster', () => {
  it('seats the cap over both nodes, refuses the next on either with the class reason, frees seats on leaving and on a node killed', async () => {
    const teacherOnA = await join(pair.a.url, teacher);
    const { send } = await goLiveWithSendTransport(teacherOnA);
    await produceFake(teacherOnA, send.id, 'camera');

    // One student on each node: both get WebRTC (B's through its edge room fed from A).
    const [s1, s2, s3, s4, s5, s6] = students as [
      RegisteredUser,
      RegisteredUser,
      RegisteredUser,
      RegisteredUser,
      RegisteredUser,
      RegisteredUser,
    ];
    const firstOnA = await join(pair.a.url, s1);
    const rtp = await ok(firstOnA, 'sfu:getRouterRtpCapabilities', {});
    expect(rtp.mode).toBe('webrtc');
    const caps = rtp.routerRtpCapabilities as unknown;
    expect(await joinMedia(firstOnA, caps)).toMatchObject({ mode: 'webrtc' });
    const secondOnB = await join(pair.b.url, s2);
    expect(await joinMedia(secondOnB, caps)).toMatchObject({ mode: 'webrtc' });

    // The class's two seats are taken: a third student on either node watches the broadcast, told it is the class's cap.
    const thirdOnB = await join(pair.b.url, s3);
    const fourthOnA = await join(pair.a.url, s4);
    for (const late of [thirdOnB, fourthOnA]) {
      const asked = await ok(late, 'sfu:getRouterRtpCapabilities', {});
      expect(asked).toMatchObject({ mode: 'hls', reason: expect.stringMatching(CLASS_CAP) });
      expect(await joinMedia(late, caps)).toMatchObject({ mode: 'hls', reason: expect.stringMatching(CLASS_CAP) });
    }
    const player = await playWhep(pair.a.url, s5);
    expect(player.status).toBe(503);
    expect(((await player.json()) as { error: { message: string } }).error.message).toMatch(CLASS_CAP);

    // The student on A leaves: their seat is free for the student waiting on B (it goes back in Redis a moment later).
    firstOnA.disconnect();
    await expect.poll(async () => (await joinMedia(thirdOnB, caps)).mode, { timeout: 20_000, interval: 250 }).toBe('webrtc');
    expect(await joinMedia(fourthOnA, caps)).toMatchObject({ mode: 'hls', reason: expect.stringMatching(CLASS_CAP) });

    // B holds both seats and is killed: once the node registry sees it gone, both are free for students on A, and no third.
    pair.b.child.kill('SIGKILL');
    await expect.poll(async () => (await joinMedia(fourthOnA, caps)).mode, { timeout: 30_000, interval: 500 }).toBe('webrtc');
    await pair.a.waitForLog((l) => l.msg === 'class seats of a gone node freed' && l.gone === 'node-2');
    expect((await playWhep(pair.a.url, s5)).status).toBe(201);
    const sixthOnA = await join(pair.a.url, s6);
    expect(await joinMedia(sixthOnA, caps)).toMatchObject({ mode: 'hls', reason: expect.stringMatching(CLASS_CAP) });
  }, 120_000);
});
