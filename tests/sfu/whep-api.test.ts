// WHEP at the HTTP level against the real server (real mediasoup workers, real database), the teacher publishing
// through WHIP (an OBS-shaped offer): who may watch (401 without or with a wrong credential, 403 not enrolled or
// removed, 404 no class, 409 not live), bad offers (400, 413, 415), CORS and PATCH (405), the answer a player
// gets (201, Location, ETag, the offer's payload types, only header extensions whose ids agree, no RTX whose
// payload type mediasoup cannot honour), the viewer in presence and attendance, the session following the
// teacher's source, a full class (503), and the session ending on DELETE, removal by the teacher and class end.
import { and, eq } from 'drizzle-orm';
import sdpTransform from 'sdp-transform';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attendance } from '../../server/db/schema.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import {
  askOk,
  cameraRtpParameters,
  createLiveClass,
  goLiveWithSendTransport,
  produceFake,
  socketFor,
  type ClassFixture,
  type Person,
} from './fixtures.ts';
import { encoderOffer } from './whip-clients.ts';
import { viewerOffer } from './whep-clients.ts';

describe('WHEP playback over HTTP', () => {
  let server: TestServer;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    // Two WebRTC seats per class: the third viewer is told the class is full.
    server = await startTestServer({ env: { LECTERN_MAX_WEBRTC_VIEWERS: '2' } });
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await server?.stop();
  });

  const whepUrl = (classId: string, path = '') => `${server.url}/api/classes/${classId}/whep${path}`;
  /** A POST as a WHEP player makes it: the offer, and the person's cookie or a bearer token. */
  const play = (classId: string, init: { as?: Person; token?: string; body?: string; contentType?: string } = {}) =>
    fetch(whepUrl(classId), {
      method: 'POST',
      headers: {
        'content-type': init.contentType ?? 'application/sdp',
        ...(init.as ? { cookie: init.as.client.cookieHeader } : {}),
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      },
      body: init.body ?? viewerOffer(),
    });
  /** DELETE as our own page sends it (its origin, its cookie), or as a player with a bearer token. */
  const leave = (location: string, init: { as?: Person; token?: string }) =>
    fetch(new URL(location, server.url), {
      method: 'DELETE',
      headers: {
        ...(init.as ? { cookie: init.as.client.cookieHeader, origin: server.url } : {}),
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      },
    });
  const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;
  const mediaToken = async (person: Person, classId: string): Promise<string> => {
    const res = await person.client.get(`/api/media/classes/${classId}/live`);
    expect(res.status).toBe(200);
    return res.body.token as string;
  };
  /** The teacher goes live from an encoder (WHIP), publishing camera and mic in `video`. */
  const publish = async (f: ClassFixture, video: 'H264' | 'VP8' = 'H264'): Promise<{ key: string; location: string }> => {
    const made = await f.teacher.client.post(`/api/classes/${f.classId}/stream-key`);
    expect(made.status).toBe(201);
    const res = await fetch(`${server.url}/api/classes/${f.classId}/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${made.body.key}` },
      body: encoderOffer({ video }),
    });
    expect(res.status).toBe(201);
    return { key: made.body.key as string, location: res.headers.get('location')! };
  };
  const openAttendance = (classId: string, userId: string) =>
    server.db
      .select()
      .from(attendance)
      .where(and(eq(attendance.classId, classId), eq(attendance.userId, userId)));

  it('answers CORS preflight, and PATCH with 405 as WHIP does', async () => {
    const f = await createLiveClass(server);
    const preflight = await fetch(whepUrl(f.classId), {
      method: 'OPTIONS',
      headers: {
        origin: 'https://player.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/DELETE/);
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    const patch = await fetch(whepUrl(f.classId, '/some-session'), {
      method: 'PATCH',
      headers: { 'content-type': 'application/trickle-ice-sdpfrag' },
      body: 'a=end-of-candidates\r\n',
    });
    expect(patch.status).toBe(405);
    expect(patch.headers.get('allow')).toBe('DELETE, OPTIONS');
  });

  it('refuses each bad request with its status and a clear message', async () => {
    const f = await createLiveClass(server, { students: 2 });
    const [student] = f.students;

    const nobody = await play(f.classId);
    expect(nobody.status).toBe(401);
    expect(nobody.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await errorOf(nobody)).toMatchObject({ code: 'unauthenticated', message: expect.stringMatching(/media token/) });
    const notATken = await play(f.classId, { token: 'not-a-token' });
    expect(notATken.status).toBe(401);
    expect(await errorOf(notATken)).toMatchObject({ code: 'invalid_token' });

    // Not live yet: 409, for a person who may watch.
    const early = await play(f.classId, { as: student });
    expect(early.status).toBe(409);
    expect(await errorOf(early)).toMatchObject({ code: 'not_live', message: expect.stringMatching(/not live yet/) });
    const missing = await play('00000000-0000-4000-8000-000000000000', { as: student });
    expect(missing.status).toBe(404);

    await publish(f);
    // A token of another class does not open this one.
    const other = await createLiveClass(server);
    await publish(other);
    const otherToken = await mediaToken(other.students[0]!, other.classId);
    const wrongClass = await play(f.classId, { token: otherToken });
    expect(wrongClass.status).toBe(401);
    expect(await errorOf(wrongClass)).toMatchObject({
      code: 'invalid_token',
      message: expect.stringMatching(/not a media token of this class/),
    });

    const outsider = await play(f.classId, { as: f.outsider });
    expect(outsider.status).toBe(403);
    expect(await errorOf(outsider)).toMatchObject({ code: 'not_enrolled', message: expect.stringMatching(/Enroll/) });

    const notSdp = await play(f.classId, { as: student, contentType: 'application/json' });
    expect(notSdp.status).toBe(415);
    const garbage = await play(f.classId, { as: student, body: 'hello' });
    expect(garbage.status).toBe(400);
    expect(await errorOf(garbage)).toMatchObject({ code: 'invalid_sdp', message: expect.stringMatching(/v=0/) });
    const sending = await play(f.classId, { as: student, body: viewerOffer({ direction: 'sendonly' }) });
    expect(sending.status).toBe(400);
    expect(await errorOf(sending)).toMatchObject({ message: expect.stringMatching(/receives no audio or video/) });
    const av1 = await play(f.classId, { as: student, body: viewerOffer({ video: ['AV1'] }) });
    expect(av1.status).toBe(415);
    expect(await errorOf(av1)).toMatchObject({
      code: 'unsupported_codec',
      message: expect.stringMatching(/offers AV1; Lectern sends VP8/),
    });
    const huge = await play(f.classId, { as: student, body: viewerOffer() + `a=x-padding:${'x'.repeat(40_000)}\r\n` });
    expect(huge.status).toBe(413);
    // None of these took a seat or entered presence.
    expect(server.whepPlayback.sessionsOf(f.classId)).toEqual([]);
    expect(server.liveClasses.presence(f.classId)?.studentCount ?? 0).toBe(0);
  });

  it('plays the class: an answer in the offer’s terms, the viewer present, the teacher’s new source followed, DELETE leaves', async () => {
    const f = await createLiveClass(server, { students: 2 });
    const [student, second] = f.students as [Person, Person];
    const encoder = await publish(f, 'H264');

    const res = await play(f.classId, { as: student });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/sdp');
    const location = res.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^/api/classes/${f.classId}/whep/[0-9a-f-]{36}$`));
    expect(res.headers.get('etag')).toMatch(/^".+"$/);

    const answer = sdpTransform.parse(await res.text());
    expect(answer.icelite).toBe('ice-lite');
    expect(answer.groups).toEqual([{ type: 'BUNDLE', mids: '0 1' }]);
    const [audio, video] = answer.media as [sdpTransform.MediaDescription, sdpTransform.MediaDescription];
    expect(answer.media.map((m) => String(m.mid))).toEqual(['0', '1']);
    expect(audio).toMatchObject({ type: 'audio', direction: 'sendonly', setup: 'passive', rtcpMux: 'rtcp-mux' });
    expect(audio.rtp).toEqual([{ payload: 111, codec: 'opus', rate: 48000, encoding: 2 }]);
    expect(video).toMatchObject({ type: 'video', direction: 'sendonly' });
    // The offer's payload types; no RTX (mediasoup's RTX payload types are not the offered 97/103).
    expect(video.rtp).toEqual([
      { payload: 96, codec: 'VP8', rate: 90000 },
      { payload: 102, codec: 'H264', rate: 90000 },
    ]);
    // Chromium's header-extension ids are not mediasoup's: none is answered, and so no congestion feedback that needs one.
    expect(video.ext ?? []).toEqual([]);
    expect(video.rtcpFb?.filter((fb) => fb.payload === 96).map((fb) => `${fb.type} ${fb.subtype ?? ''}`.trim())).toEqual([
      'ccm fir',
      'nack',
      'nack pli',
    ]);
    // No SSRC is announced: a new source takes the section over as a new stream.
    expect(answer.media.every((m) => !m.ssrcs)).toBe(true);
    for (const m of answer.media) {
      expect(m.candidates?.length).toBeGreaterThan(0);
      expect(m.endOfCandidates).toBe('end-of-candidates');
    }

    // The consumers send H.264 at the offer's 102, although the class's router numbers H.264 otherwise.
    const room = server.rooms.get(f.classId)!;
    const roomH264 = room.router.rtpCapabilities.codecs!.find((c) => c.mimeType === 'video/H264')!.preferredPayloadType;
    expect(roomH264).not.toBe(102);
    const session = server.whepPlayback.sessionsOf(f.classId)[0]!;
    const cameraId = room.mediaSources().find((s) => s.source === 'camera')!.producer.id;
    expect(session.playing()).toMatchObject({
      '0': { source: 'mic', payloadType: 111 },
      '1': { source: 'camera', producerId: cameraId, payloadType: 102 },
    });

    // In presence and attendance as a student of the class.
    expect(server.liveClasses.presence(f.classId)).toMatchObject({
      studentCount: 1,
      viewers: expect.arrayContaining([expect.objectContaining({ userId: student.user.id, role: 'student' })]),
    });
    expect(await openAttendance(f.classId, student.user.id)).toMatchObject([{ leftAt: null }]);

    // A player elsewhere with the class's media token (no cookie) is let in too.
    const token = await mediaToken(second, f.classId);
    const byToken = await play(f.classId, { token });
    expect(byToken.status).toBe(201);
    expect(server.liveClasses.presence(f.classId)?.studentCount).toBe(2);

    // The teacher's encoder reconnects with VP8: both sessions show the new camera, at the offer's VP8 96.
    expect(
      (await fetch(new URL(encoder.location, server.url), { method: 'DELETE', headers: { authorization: `Bearer ${encoder.key}` } }))
        .status,
    ).toBe(200);
    await expect.poll(() => session.playing()['1']).toBeNull();
    const again = await fetch(`${server.url}/api/classes/${f.classId}/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${encoder.key}` },
      body: encoderOffer({ video: 'VP8' }),
    });
    expect(again.status).toBe(201);
    const newCamera = room.mediaSources().find((s) => s.source === 'camera')!.producer.id;
    await expect.poll(() => session.playing()['1']).toMatchObject({ source: 'camera', producerId: newCamera, payloadType: 96 });

    // DELETE: only by its viewer (403 for someone else), 200; again 200 (players close first), unknown 404.
    expect((await leave(location, { token })).status).toBe(403);
    expect((await leave(location, { as: student })).status).toBe(200);
    expect(session.closed).toBe(true);
    expect(room.peers().some((p) => p.id === `whep:${session.id}`)).toBe(false);
    await expect.poll(() => server.liveClasses.presence(f.classId)?.studentCount).toBe(1);
    await expect.poll(async () => (await openAttendance(f.classId, student.user.id))[0]!.leftAt).not.toBeNull();
    expect((await leave(location, { as: student })).status).toBe(200);
    expect((await leave(`/api/classes/${f.classId}/whep/00000000-0000-4000-8000-000000000000`, { as: student })).status).toBe(404);

    // The class ends: the other session ends with it, and its viewer leaves presence.
    await server.liveClasses.end(f.classId);
    await expect.poll(() => server.whepPlayback.sessionsOf(f.classId)).toEqual([]);
    const ended = await play(f.classId, { as: student });
    expect(ended.status).toBe(409);
    expect(await errorOf(ended)).toMatchObject({ code: 'not_live', message: expect.stringMatching(/ended/) });
  });

  it('shows the teacher’s screen share while there is one, then the camera again', async () => {
    const f = await createLiveClass(server);
    const teacher = await socketFor(server, f.teacher);
    sockets.push(teacher);
    await askOk(teacher, 'class:join', { classId: f.classId });
    const { send } = await goLiveWithSendTransport(teacher);
    const camera = await produceFake(teacher, send.id, 'camera', 3000);
    await produceFake(teacher, send.id, 'mic', 4000);

    expect((await play(f.classId, { as: f.students[0]! })).status).toBe(201);
    const [session] = server.whepPlayback.sessionsOf(f.classId);
    expect(session!.playing()['1']).toMatchObject({ source: 'camera', producerId: camera.producerId, payloadType: 96 });
    const screen = await askOk(teacher, 'sfu:produce', {
      transportId: send.id,
      kind: 'video',
      rtpParameters: { ...cameraRtpParameters(5000), mid: '2' },
      source: 'screen',
    });
    await expect.poll(() => session!.playing()['1']).toMatchObject({ source: 'screen', producerId: screen.producerId });
    expect(session!.playing()['0']).toMatchObject({ source: 'mic' });
    await askOk(teacher, 'sfu:closeProducer', { producerId: screen.producerId });
    await expect.poll(() => session!.playing()['1']).toMatchObject({ source: 'camera', producerId: camera.producerId });
  });

  it('takes a seat like a student (503 when the class is full), and the teacher removing a student ends their session', async () => {
    const f = await createLiveClass(server, { students: 3 });
    const [a, b, c] = f.students as [Person, Person, Person];
    await publish(f, 'VP8');
    expect((await play(f.classId, { as: a })).status).toBe(201);
    expect((await play(f.classId, { as: b })).status).toBe(201);
    const full = await play(f.classId, { as: c });
    expect(full.status).toBe(503);
    expect(await errorOf(full)).toMatchObject({ code: 'full', message: expect.stringMatching(/2 real-time seats/) });

    // The teacher removes student a from the class: the session ends, and they cannot come back.
    const teacher = await socketFor(server, f.teacher);
    sockets.push(teacher);
    await askOk(teacher, 'class:join', { classId: f.classId });
    await askOk(teacher, 'moderation:remove', { userId: a.user.id });
    await expect.poll(() => server.whepPlayback.sessionsOf(f.classId).map((s) => s.userId)).toEqual([b.user.id]);
    const removed = await play(f.classId, { as: a });
    expect(removed.status).toBe(403);
    expect(await errorOf(removed)).toMatchObject({ code: 'removed' });
    // Their seat is free again.
    expect((await play(f.classId, { as: c })).status).toBe(201);
  });
});

describe('WHEP playback across the workers of a machine', () => {
  let server: TestServer;

  beforeAll(async () => {
    // One student per worker: the second viewer sits on the other worker, the third finds the machine full.
    server = await startTestServer({ env: { LECTERN_WORKERS: '2', LECTERN_CONSUMERS_PER_WORKER: '2' } });
  });
  let stopped = false;
  afterAll(async () => {
    if (!stopped) await server?.stop();
  });

  it('seats a viewer on another worker, fed from the class’s router there, answers 503 when every worker is full, and closes at shutdown', async () => {
    const f = await createLiveClass(server, { students: 3 });
    const made = await f.teacher.client.post(`/api/classes/${f.classId}/stream-key`);
    const whip = await fetch(`${server.url}/api/classes/${f.classId}/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${made.body.key}` },
      body: encoderOffer({ video: 'VP8' }),
    });
    expect(whip.status).toBe(201);
    const play = (person: Person) =>
      fetch(`${server.url}/api/classes/${f.classId}/whep`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', cookie: person.client.cookieHeader },
        body: viewerOffer(),
      });
    const [a, b, c] = f.students as [Person, Person, Person];
    expect((await play(a)).status).toBe(201);
    expect((await play(b)).status).toBe(201);
    const room = server.rooms.get(f.classId)!;
    expect(room.routerLoad().map((r) => r.seats)).toEqual([1, 1]);
    for (const session of server.whepPlayback.sessionsOf(f.classId))
      expect(session.playing()).toMatchObject({ '0': { source: 'mic', payloadType: 111 }, '1': { source: 'camera', payloadType: 96 } });
    const full = await play(c);
    expect(full.status).toBe(503);
    expect(((await full.json()) as { error: { message: string } }).error.message).toMatch(/real-time capacity is taken/);

    // The server shuts down: every session closes (and with it its router, transport and consumers).
    const sessions = server.whepPlayback.sessionsOf(f.classId);
    stopped = true;
    await server.stop();
    expect(sessions.map((s) => s.closed)).toEqual([true, true]);
  });
});
