// WHIP at the HTTP level against the real server (real mediasoup worker, real database), with offers shaped
// like OBS's: stream keys (who may make them, hashed, rotation), CORS preflight, every refusal with its status
// and message (401 missing/wrong/revoked key, 403 other class/ended class/key of someone no longer teaching,
// 400 malformed SDP, 413 oversized, 415 content type and codecs, 409 a second publisher and the browser
// studio), what OBS relies on (201, a Location it can resolve, an SDP answer it can read, 200 on DELETE, 405
// on PATCH), and the class going live from the encoder with the teacher present, then away after DELETE.
import crypto from 'node:crypto';
import { eq } from 'drizzle-orm';
import sdpTransform from 'sdp-transform';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveClasses, streamKeys, users } from '../../server/db/schema.ts';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { askOk, createLiveClass, goLiveWithSendTransport, produceFake, socketFor, type ClassFixture } from './fixtures.ts';
import { encoderOffer } from './whip-clients.ts';

describe('WHIP ingest over HTTP', () => {
  let server: TestServer;
  let admin: RegisteredUser;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    admin = await registerUser(server.url, 'student', 'Ada Admin');
    await server.db.update(users).set({ role: 'admin' }).where(eq(users.id, admin.user.id));
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await server?.stop();
  });

  const whip = (classId: string, init: { key?: string; body?: string; contentType?: string; method?: string; path?: string } = {}) =>
    fetch(`${server.url}/api/classes/${classId}/whip${init.path ?? ''}`, {
      method: init.method ?? 'POST',
      headers: {
        ...(init.contentType === '' ? {} : { 'content-type': init.contentType ?? 'application/sdp' }),
        ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
      },
      body: init.body,
    });
  const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;
  const newKey = async (f: ClassFixture): Promise<string> => {
    const res = await f.teacher.client.post(`/api/classes/${f.classId}/stream-key`);
    expect(res.status).toBe(201);
    return res.body.key as string;
  };

  it('makes stream keys for the teacher and admins only, stores them hashed, and rotation revokes the old key', async () => {
    const f = await createLiveClass(server);
    const made = await f.teacher.client.post(`/api/classes/${f.classId}/stream-key`);
    expect(made.status).toBe(201);
    expect(made.body.whipUrl).toBe(`${server.url}/api/classes/${f.classId}/whip`);
    expect(made.body.key).toMatch(/^lsk_[A-Za-z0-9_-]{43}$/);
    const rows = await server.db.select().from(streamKeys).where(eq(streamKeys.classId, f.classId));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.keyHash).not.toContain(made.body.key.slice(4));
    expect(rows[0]!.keyHash).toMatch(/^[0-9a-f]{64}$/);

    expect((await f.students[0]!.client.post(`/api/classes/${f.classId}/stream-key`)).status).toBe(403);
    expect((await f.outsider.client.post(`/api/classes/${f.classId}/stream-key`)).status).toBe(403);
    expect((await f.students[0]!.client.get(`/api/classes/${f.classId}/encoder`)).status).toBe(403);
    const byAdmin = await admin.client.post(`/api/classes/${f.classId}/stream-key`);
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body.key).not.toBe(made.body.key);
    // One current key: the teacher's first one is revoked now, and says so.
    const revoked = await whip(f.classId, { key: made.body.key, body: encoderOffer() });
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await errorOf(revoked)).toMatchObject({ code: 'revoked_key', message: expect.stringMatching(/replaced by a new one/) });
    const view = await f.teacher.client.get(`/api/classes/${f.classId}/encoder`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ whipUrl: made.body.whipUrl, streamKey: { createdAt: expect.any(String) }, session: null });
  });

  it('answers CORS preflight, and PATCH with 405 (the answer has every candidate and no trickle)', async () => {
    const f = await createLiveClass(server);
    const preflight = await fetch(`${server.url}/api/classes/${f.classId}/whip`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://encoder.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/DELETE/);
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const sessionPreflight = await fetch(`${server.url}/api/classes/${f.classId}/whip/some-session`, {
      method: 'OPTIONS',
      headers: { origin: 'https://encoder.example', 'access-control-request-method': 'DELETE' },
    });
    expect(sessionPreflight.status).toBe(204);

    const patch = await whip(f.classId, {
      method: 'PATCH',
      path: '/some-session',
      contentType: 'application/trickle-ice-sdpfrag',
      body: 'a=end-of-candidates\r\n',
    });
    expect(patch.status).toBe(405);
    expect(patch.headers.get('allow')).toBe('DELETE, OPTIONS');
    expect(patch.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('refuses each bad publish with its status and a clear message', async () => {
    const f = await createLiveClass(server);
    const key = await newKey(f);
    const other = await createLiveClass(server);
    const otherKey = await newKey(other);

    const missing = await whip(f.classId, { body: encoderOffer() });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('access-control-allow-origin')).toBe('*');
    expect(await errorOf(missing)).toMatchObject({ code: 'invalid_key', message: expect.stringMatching(/Authorization: Bearer/) });
    const wrong = await whip(f.classId, { key: 'lsk_not-a-key', body: encoderOffer() });
    expect(wrong.status).toBe(401);
    expect(await errorOf(wrong)).toMatchObject({ message: expect.stringMatching(/not valid/) });
    const otherClass = await whip(f.classId, { key: otherKey, body: encoderOffer() });
    expect(otherClass.status).toBe(403);
    expect(await errorOf(otherClass)).toMatchObject({ code: 'other_class' });

    const notSdp = await whip(f.classId, { key, body: encoderOffer(), contentType: 'application/json' });
    expect(notSdp.status).toBe(415);
    expect(await errorOf(notSdp)).toMatchObject({ message: expect.stringMatching(/application\/sdp/) });
    const garbage = await whip(f.classId, { key, body: 'hello' });
    expect(garbage.status).toBe(400);
    expect(await errorOf(garbage)).toMatchObject({ code: 'invalid_sdp', message: expect.stringMatching(/v=0/) });
    const noFingerprint = await whip(f.classId, { key, body: encoderOffer().replace(/a=fingerprint:.*\r\n/, '') });
    expect(noFingerprint.status).toBe(400);
    expect(await errorOf(noFingerprint)).toMatchObject({ message: expect.stringMatching(/fingerprint/) });
    const huge = await whip(f.classId, { key, body: encoderOffer() + `a=x-padding:${'x'.repeat(40_000)}\r\n` });
    expect(huge.status).toBe(413);
    const av1 = await whip(f.classId, { key, body: encoderOffer({ video: 'AV1' }) });
    expect(av1.status).toBe(415);
    expect(await errorOf(av1)).toMatchObject({
      code: 'unsupported_codec',
      message: expect.stringMatching(/offers AV1; Lectern takes H\.264.*VP8/),
    });
    const pcmu = await whip(f.classId, { key, body: encoderOffer({ audio: 'PCMU' }) });
    expect(pcmu.status).toBe(415);
    expect(await errorOf(pcmu)).toMatchObject({ message: expect.stringMatching(/offers PCMU; Lectern takes Opus/) });
    // None of these made the class live.
    expect((await server.liveClasses.status(f.classId)).status).toBe('scheduled');

    // A key made by a teacher who handed the class over no longer publishes it.
    const newTeacher = await registerUser(server.url, 'teacher', 'New Teacher');
    await server.db.update(liveClasses).set({ teacherId: newTeacher.user.id }).where(eq(liveClasses.id, other.classId));
    const handedOver = await whip(other.classId, { key: otherKey, body: encoderOffer() });
    expect(handedOver.status).toBe(403);
    expect(await errorOf(handedOver)).toMatchObject({ code: 'not_teacher' });

    // An ended class cannot go live again from an encoder.
    await server.liveClasses.goLive(f.classId);
    await server.liveClasses.end(f.classId);
    const ended = await whip(f.classId, { key, body: encoderOffer() });
    expect(ended.status).toBe(403);
    expect(await errorOf(ended)).toMatchObject({ code: 'class_over', message: expect.stringMatching(/ended/) });
  });

  it('publishes an OBS-shaped offer: 201 with an answer OBS can use, live with the teacher; DELETE answers 200, the grace period starts', async () => {
    const f = await createLiveClass(server);
    const key = await newKey(f);
    const res = await whip(f.classId, { key, body: encoderOffer({ video: 'H264' }) });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/sdp');
    const location = res.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^/api/classes/${f.classId}/whip/[0-9a-f-]{36}$`));
    expect(res.headers.get('etag')).toMatch(/^".+"$/);
    expect(res.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('location');

    const answer = sdpTransform.parse(await res.text());
    expect(answer.icelite).toBe('ice-lite');
    expect(answer.groups).toEqual([{ type: 'BUNDLE', mids: '0 1' }]);
    const [audio, video] = answer.media;
    expect(answer.media.map((m) => String(m.mid))).toEqual(['0', '1']);
    expect(audio).toMatchObject({ type: 'audio', direction: 'recvonly', setup: 'passive', rtcpMux: 'rtcp-mux' });
    expect(audio!.rtp).toEqual([{ payload: 111, codec: 'opus', rate: 48000, encoding: 2 }]);
    expect(video).toMatchObject({ type: 'video', direction: 'recvonly', setup: 'passive' });
    expect(video!.rtp).toEqual([{ payload: 96, codec: 'H264', rate: 90000 }]);
    expect(video!.fmtp[0]!.config).toContain('packetization-mode=1');
    expect(video!.rtcpFb?.map((fb) => `${fb.type} ${fb.subtype ?? ''}`.trim())).toEqual(['nack', 'nack pli', 'goog-remb']);
    // Every candidate of the WebRtcServer, and no trickle to come.
    for (const m of answer.media) {
      expect(m.candidates?.length).toBeGreaterThan(0);
      expect(m.candidates!.every((c) => c.type === 'host')).toBe(true);
      expect(m.endOfCandidates).toBe('end-of-candidates');
      expect(m.fingerprint?.type).toBe('sha-256');
    }
    expect(answer.media[0]!.candidates!.map((c) => c.transport).sort()).toEqual(expect.arrayContaining(['tcp', 'udp']));

    // Live, with the encoder's producers in the room as the teacher's camera and mic.
    expect(await server.liveClasses.status(f.classId)).toMatchObject({ status: 'live', teacher: 'present' });
    const room = server.rooms.get(f.classId)!;
    const sources = room.mediaSources().map((s) => `${s.source}:${s.producer.rtpParameters.codecs[0]!.mimeType}:${s.userId}`);
    expect(sources.sort()).toEqual([`camera:video/H264:${f.teacher.user.id}`, `mic:audio/opus:${f.teacher.user.id}`]);
    const encoder = await f.teacher.client.get(`/api/classes/${f.classId}/encoder`);
    expect(encoder.body.session).toMatchObject({
      connected: false,
      video: { mimeType: 'video/H264', layers: 1 },
      audio: { mimeType: 'audio/opus' },
    });

    // The same key from another encoder while this one's ICE is not connected replaces it (OBS restarting).
    const again = await whip(f.classId, { key, body: encoderOffer({ video: 'VP8' }) });
    expect(again.status).toBe(201);
    const againLocation = again.headers.get('location')!;
    expect(againLocation).not.toBe(location);
    await expect
      .poll(() =>
        room
          .mediaSources()
          .map((s) => s.producer.rtpParameters.codecs[0]!.mimeType)
          .sort(),
      )
      .toEqual(['audio/opus', 'video/VP8']);
    // DELETE of a session that already ended still answers 200 (encoders close their connection first); a
    // session that never was answers 404.
    const stale = await whip(f.classId, { method: 'DELETE', path: location.split('/whip')[1], key, contentType: '' });
    expect(stale.status).toBe(200);
    expect(
      room
        .mediaSources()
        .map((s) => s.producer.rtpParameters.codecs[0]!.mimeType)
        .sort(),
    ).toEqual(['audio/opus', 'video/VP8']);
    const unknown = await whip(f.classId, { method: 'DELETE', path: `/${crypto.randomUUID()}`, key, contentType: '' });
    expect(unknown.status).toBe(404);

    // DELETE with a wrong key is refused; with the session's key it answers 200 (what OBS checks).
    const wrongDelete = await whip(f.classId, {
      method: 'DELETE',
      path: againLocation.split('/whip')[1],
      key: 'lsk_wrong',
      contentType: '',
    });
    expect(wrongDelete.status).toBe(401);
    const deleted = await fetch(new URL(againLocation, server.url), { method: 'DELETE', headers: { authorization: `Bearer ${key}` } });
    expect(deleted.status).toBe(200);
    expect(room.mediaSources()).toEqual([]);
    // As when the studio's browser drops: still live, the teacher away (the grace period runs).
    await expect.poll(async () => server.liveClasses.status(f.classId)).toMatchObject({ status: 'live', teacher: 'away' });
    expect((await f.teacher.client.get(`/api/classes/${f.classId}/encoder`)).body.session).toBeNull();
  });

  it('refuses an encoder while the browser studio publishes (409), and takes it once the studio stops', async () => {
    const f = await createLiveClass(server);
    const key = await newKey(f);
    const teacher = await socketFor(server, f.teacher);
    sockets.push(teacher);
    await askOk(teacher, 'class:join', { classId: f.classId });
    const { send } = await goLiveWithSendTransport(teacher);
    const { producerId } = await produceFake(teacher, send.id, 'camera');

    const busy = await whip(f.classId, { key, body: encoderOffer() });
    expect(busy.status).toBe(409);
    expect(await errorOf(busy)).toMatchObject({ code: 'publisher_busy', message: expect.stringMatching(/browser studio/) });

    await askOk(teacher, 'sfu:closeProducer', { producerId });
    const taken = await whip(f.classId, { key, body: encoderOffer() });
    expect(taken.status).toBe(201);
    // The studio's teacher is still in the class: the encoder's DELETE leaves the teacher present.
    const deleted = await fetch(new URL(taken.headers.get('location')!, server.url), {
      method: 'DELETE',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(deleted.status).toBe(200);
    expect(await server.liveClasses.status(f.classId)).toMatchObject({ status: 'live', teacher: 'present' });
  });

  it('ends the encoder session when the key is rotated, and from the studio button', async () => {
    const f = await createLiveClass(server);
    const key = await newKey(f);
    const first = await whip(f.classId, { key, body: encoderOffer() });
    expect(first.status).toBe(201);
    const room = server.rooms.get(f.classId)!;
    expect(room.mediaSources()).toHaveLength(2);
    const rotated = await f.teacher.client.post(`/api/classes/${f.classId}/stream-key`);
    expect(rotated.status).toBe(201);
    expect(room.mediaSources()).toEqual([]);
    expect((await whip(f.classId, { key, body: encoderOffer() })).status).toBe(401);

    const second = await whip(f.classId, { key: rotated.body.key, body: encoderOffer() });
    expect(second.status).toBe(201);
    expect(room.mediaSources()).toHaveLength(2);
    const endEncoder = (person: typeof f.teacher) =>
      person.client.request('DELETE', `/api/classes/${f.classId}/encoder`, undefined, { origin: server.url });
    expect((await endEncoder(f.students[0]!)).status).toBe(403);
    const ended = await endEncoder(f.teacher);
    expect(ended.body).toEqual({ ended: true });
    expect(room.mediaSources()).toEqual([]);
  });
});
