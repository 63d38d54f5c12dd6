// SFU signalling over real Socket.io against the real server, mediasoup worker and database: validation,
// permissions, the live-class lifecycle (attendance, viewers, grace period, stage) and leaks.
import { eq } from 'drizzle-orm';
import type { types } from 'mediasoup';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attendance, liveClasses } from '../../server/db/schema.ts';
import { dbKinds } from '../helpers/databases.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { ask, askOk, cameraRtpParameters, createLiveClass, FAKE_DTLS, micRtpParameters, socketFor, type ClassFixture } from './fixtures.ts';

const CAP = 3;

function nextEvent<T = any>(socket: Socket, event: string, predicate: (data: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (data: T): void => {
      if (!predicate(data)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(data);
    };
    socket.on(event, listener);
  });
}

/** A student (or teacher) that joins the class and the media session the way the browser does. */
async function joinMedia(socket: Socket, classId: string): Promise<{ joined: any; rtp: any; media: any }> {
  const joined = await askOk(socket, 'class:join', { classId });
  const rtp = await askOk(socket, 'sfu:getRouterRtpCapabilities', {});
  if (rtp.mode !== 'webrtc') return { joined, rtp, media: rtp };
  const media = await askOk(socket, 'sfu:join', { rtpCapabilities: rtp.routerRtpCapabilities });
  return { joined, rtp, media };
}

/**
 * WebRTC transports alive on the class's router, counted by the router itself (its dump), leaving out the
 * HLS bridge's PlainTransports, which belong to the bridge and not to any peer.
 */
async function routerTransportCount(server: TestServer, classId: string): Promise<number> {
  const room = server.rooms.get(classId);
  if (!room) return 0;
  const { transportIds } = await room.router.dump();
  const webrtc = new Set((webRtcTransports.get(room.router.id) ?? []).map((t) => t.id));
  return transportIds.filter((id) => webrtc.has(id)).length;
}

/** Consumers of `producerId` on WebRTC transports (people), counted by the worker (the HLS bridge's are not). */
async function webRtcConsumerCount(server: TestServer, classId: string, producerId: string): Promise<number> {
  const room = server.rooms.get(classId);
  if (!room) return 0;
  const { mapProducerIdConsumerIds } = await room.router.dump();
  const ofProducer = new Set(mapProducerIdConsumerIds.find((e) => e.key === producerId)?.values ?? []);
  let n = 0;
  for (const t of webRtcTransports.get(room.router.id) ?? []) {
    if (t.closed) continue;
    const { consumerIds } = (await t.dump()) as { consumerIds: string[] };
    n += consumerIds.filter((id) => ofProducer.has(id)).length;
  }
  return n;
}

/** Every WebRTC transport any router of the server has made, by router id (from mediasoup's observer). */
const webRtcTransports = new Map<string, types.Transport[]>();
function watchTransports(server: TestServer): void {
  server.rooms.on('roomopen', (room) => {
    const transports: types.Transport[] = [];
    webRtcTransports.set(room.router.id, transports);
    room.router.observer.on('newtransport', (t) => {
      if (t.type === 'webrtc') transports.push(t);
    });
  });
}

describe.each(await dbKinds())('SFU signalling (%s)', (db) => {
  let server: TestServer;
  const sockets: Socket[] = [];
  const open = async (person: ClassFixture['teacher']): Promise<Socket> => {
    const s = await socketFor(server, person);
    sockets.push(s);
    return s;
  };
  /** The class's teacher, joined, live and in the media session, as the studio is after Go live. */
  const teacherLive = async (f: ClassFixture): Promise<Socket> => {
    const teacher = await open(f.teacher);
    await askOk(teacher, 'class:join', { classId: f.classId });
    await askOk(teacher, 'class:goLive', {});
    const rtp = await askOk(teacher, 'sfu:getRouterRtpCapabilities', {});
    await askOk(teacher, 'sfu:join', { rtpCapabilities: rtp.routerRtpCapabilities });
    return teacher;
  };

  beforeAll(async () => {
    server = await startTestServer({ db, env: { LECTERN_MAX_WEBRTC_VIEWERS: String(CAP), LECTERN_TEACHER_GRACE_SECONDS: '1' } });
    watchTransports(server);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await server?.stop();
  });

  it('answers bad payloads with clear errors and keeps serving', async () => {
    const f = await createLiveClass(server);
    const teacher = await open(f.teacher);
    const bad: [string, unknown][] = [
      ['class:join', { classId: 'not-a-uuid' }],
      ['class:join', 'just a string'],
      ['sfu:createTransport', { direction: 'sideways' }],
      ['sfu:connectTransport', { transportId: 'x'.repeat(500), dtlsParameters: FAKE_DTLS }],
      ['sfu:produce', { transportId: 't', kind: 'video', rtpParameters: { codecs: [] }, source: 'camera' }],
      ['sfu:produce', { transportId: 't', kind: 'video', rtpParameters: cameraRtpParameters(), source: 'hologram' }],
      ['sfu:setPreferredLayers', { consumerId: 'c', spatialLayer: 99 }],
      ['sfu:join', { rtpCapabilities: { codecs: 'all of them' } }],
      ['stage:invite', { userId: 42 }],
    ];
    // Before joining, SFU events do not exist for the socket; after joining they validate.
    const joined = await askOk(teacher, 'class:join', { classId: f.classId });
    expect(joined.role).toBe('teacher');
    for (const [event, payload] of bad) {
      const ack = await ask(teacher, event, payload);
      expect(ack.ok, `${event} ${JSON.stringify(payload).slice(0, 60)}`).toBe(false);
      if (!ack.ok) {
        expect(ack.error.code).toBe('invalid_input');
        expect(ack.error.message.length).toBeGreaterThan(5);
      }
    }
    // Well-formed but wrong: ids the server never handed out, capabilities mediasoup rejects.
    await askOk(teacher, 'class:goLive', {});
    const rtp = await askOk(teacher, 'sfu:getRouterRtpCapabilities', {});
    const badCaps = await ask(teacher, 'sfu:join', {
      rtpCapabilities: { codecs: [{ kind: 'video', mimeType: 'nonsense', clockRate: 1 }] },
    });
    expect(badCaps).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    await askOk(teacher, 'sfu:join', { rtpCapabilities: rtp.routerRtpCapabilities });
    expect(await ask(teacher, 'sfu:connectTransport', { transportId: 'made-up', dtlsParameters: FAKE_DTLS })).toMatchObject({
      ok: false,
      error: { code: 'not_found' },
    });
    expect(await ask(teacher, 'sfu:consume', { producerId: 'made-up' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const send = await askOk(teacher, 'sfu:createTransport', { direction: 'send' });
    const wrongKind = await ask(teacher, 'sfu:produce', {
      transportId: send.id,
      kind: 'audio',
      rtpParameters: micRtpParameters(),
      source: 'camera',
    });
    expect(wrongKind).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    // An event without an ack callback, and garbage, do not take the server down.
    teacher.emit('sfu:produce', { garbage: true });
    teacher.emit('sfu:consume');
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect((await askOk(teacher, 'sfu:createTransport', { direction: 'recv' })).id).toMatch(/\S/);
  });

  it('refuses a user who is not enrolled, and students cannot go live, publish or moderate', async () => {
    const f = await createLiveClass(server);
    const outsider = await open(f.outsider);
    expect(await ask(outsider, 'class:join', { classId: f.classId })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    // A refused socket has no SFU events at all: the request is never answered.
    await expect(outsider.timeout(1000).emitWithAck('sfu:getRouterRtpCapabilities', {})).rejects.toThrow();
    const student = await open(f.students[0]!);
    await askOk(student, 'class:join', { classId: f.classId });
    expect(await ask(student, 'sfu:getRouterRtpCapabilities', {})).toMatchObject({ ok: false, error: { code: 'not_live' } });
    expect(await ask(student, 'class:goLive', {})).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    const teacher = await open(f.teacher);
    await joinMedia(teacher, f.classId).catch(() => {});
    await askOk(teacher, 'class:goLive', {});
    const { media } = await joinMedia(student, f.classId);
    expect(media.mode).toBe('webrtc');
    expect(await ask(student, 'sfu:createTransport', { direction: 'send' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    // Even holding a receive transport, a student's produce is refused.
    const recv = await askOk(student, 'sfu:createTransport', { direction: 'recv' });
    expect(
      await ask(student, 'sfu:produce', { transportId: recv.id, kind: 'video', rtpParameters: cameraRtpParameters(), source: 'camera' }),
    ).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    expect(await ask(student, 'class:end', {})).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(await ask(student, 'stage:invite', { userId: f.students[0]!.user.id })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    const room = server.rooms.get(f.classId)!;
    expect(room.mediaSources()).toHaveLength(0);
  });

  it('publishes, consumes with low first layers, sends the HLS hint beyond the cap, and leaks nothing when students leave', async () => {
    const f = await createLiveClass(server, { students: CAP + 1 });
    const teacher = await open(f.teacher);
    await askOk(teacher, 'class:join', { classId: f.classId });
    const live = await askOk(teacher, 'class:goLive', {});
    expect(live.status).toBe('live');
    const rtp = await askOk(teacher, 'sfu:getRouterRtpCapabilities', {});
    await askOk(teacher, 'sfu:join', { rtpCapabilities: rtp.routerRtpCapabilities });
    const send = await askOk(teacher, 'sfu:createTransport', { direction: 'send' });
    expect(send.iceCandidates.length).toBeGreaterThan(0);
    await askOk(teacher, 'sfu:connectTransport', { transportId: send.id, dtlsParameters: FAKE_DTLS });
    const cam = await askOk(teacher, 'sfu:produce', {
      transportId: send.id,
      kind: 'video',
      rtpParameters: cameraRtpParameters(),
      source: 'camera',
    });
    const room = server.rooms.get(f.classId)!;
    const added: string[] = [];
    room.on('sourceadd', (s) => added.push(`${s.source}:${s.kind}`));

    const students: Socket[] = [];
    for (const person of f.students.slice(0, CAP)) {
      const s = await open(person);
      const newProducer = nextEvent(s, 'sfu:newProducer');
      const { media } = await joinMedia(s, f.classId);
      expect(media.mode).toBe('webrtc');
      expect(media.sources.map((x: any) => x.source)).toEqual(['camera']);
      await askOk(s, 'sfu:createTransport', { direction: 'recv' });
      const consumer = await askOk(s, 'sfu:consume', { producerId: cam.producerId });
      expect(consumer).toMatchObject({ kind: 'video', source: 'camera', userId: f.teacher.user.id });
      const serverConsumer = room
        .peers()
        .flatMap((p) => [...p.consumers.values()])
        .find((c) => c.id === consumer.consumerId)!;
      expect(serverConsumer.preferredLayers?.spatialLayer).toBe(0); // starts low, then follows the client
      await askOk(s, 'sfu:resumeConsumer', { consumerId: consumer.consumerId });
      expect(await askOk(s, 'sfu:setPreferredLayers', { consumerId: consumer.consumerId, spatialLayer: 2 })).toEqual({ applied: true });
      students.push(s);
      // The mic appears later: every student hears about it.
      if (students.length === CAP) {
        await askOk(teacher, 'sfu:produce', { transportId: send.id, kind: 'audio', rtpParameters: micRtpParameters(), source: 'mic' });
        expect(await newProducer).toMatchObject({ source: 'mic', kind: 'audio', displayName: 'Ada Teacher' });
      } else {
        newProducer.catch(() => {});
      }
    }
    expect(added).toEqual(['mic:audio']);
    const consumerPeer = room.peers().find((p) => p.role === 'student')!;
    const firstConsumer = [...consumerPeer.consumers.values()][0]!;
    expect(firstConsumer.preferredLayers?.spatialLayer).toBe(2);

    // The cap is reached: the next student is pointed at HLS instead of getting media.
    const late = await open(f.students[CAP]!);
    const { rtp: lateRtp } = await joinMedia(late, f.classId);
    expect(lateRtp).toMatchObject({ mode: 'hls' });
    expect(await ask(late, 'sfu:join', { rtpCapabilities: rtp.routerRtpCapabilities })).toMatchObject({ ok: true, data: { mode: 'hls' } });

    // Teacher: send + recv; each student: recv.
    expect(await routerTransportCount(server, f.classId)).toBe(1 + CAP);
    const teacherTransports = 1;
    for (const s of students) s.disconnect();
    await expect.poll(() => routerTransportCount(server, f.classId)).toBe(teacherTransports);
    await expect.poll(() => room.peers().filter((p) => p.role === 'student').length).toBe(0);
    // A seat came free: the late student now gets WebRTC.
    expect(await askOk(late, 'sfu:getRouterRtpCapabilities', {})).toMatchObject({ mode: 'webrtc' });

    teacher.disconnect();
    late.disconnect();
    await expect.poll(() => routerTransportCount(server, f.classId)).toBe(0);
    const dump = await room.router.dump();
    expect(dump.mapProducerIdConsumerIds).toEqual([]);
    expect(room.peers()).toHaveLength(0);
  });

  it('records attendance and viewers, runs the teacher grace period, and ends the class for everyone', async () => {
    const f = await createLiveClass(server, { students: 2 });
    const teacher = await open(f.teacher);
    await askOk(teacher, 'class:join', { classId: f.classId });
    const [a, b] = [await open(f.students[0]!), await open(f.students[1]!)];
    const waiting = nextEvent(a, 'class:status');
    await askOk(a, 'class:join', { classId: f.classId });
    expect(await waiting).toMatchObject({ status: 'scheduled' });
    const goesLive = nextEvent(a, 'class:status', (s) => s.status === 'live');
    await askOk(teacher, 'class:goLive', {});
    expect((await goesLive).startedAt).toBeTruthy();
    await askOk(b, 'class:join', { classId: f.classId });
    const presence = await nextEvent(teacher, 'presence:update', (p) => p.studentCount === 2);
    expect(presence.viewers.map((v: any) => v.displayName).sort()).toEqual(['Ada Teacher', 'Student 1', 'Student 2']);
    b.disconnect();
    await expect
      .poll(async () => (await server.db.select().from(attendance).where(eq(attendance.userId, f.students[1]!.user.id)))[0]?.leftAt)
      .toBeTruthy();

    // The teacher drops: students see 'away', then 'interrupted' after the (1 s) grace period, then 'present'.
    const away = nextEvent(a, 'class:status', (s) => s.teacher === 'away');
    const interrupted = nextEvent(a, 'class:status', (s) => s.teacher === 'interrupted');
    teacher.disconnect();
    expect(await away).toMatchObject({ status: 'live' });
    expect(await interrupted).toMatchObject({ status: 'live' });
    const back = await open(f.teacher);
    const present = nextEvent(a, 'class:status', (s) => s.teacher === 'present');
    await askOk(back, 'class:join', { classId: f.classId });
    await present;

    const ended = nextEvent(a, 'class:status', (s) => s.status === 'ended');
    const end = await askOk(back, 'class:end', {});
    expect(end.status).toBe('ended');
    expect((await ended).endedAt).toBeTruthy();
    expect(server.rooms.get(f.classId)).toBeUndefined();
    expect(await ask(back, 'class:goLive', {})).toMatchObject({ ok: false, error: { code: 'ended' } });
    expect(await ask(a, 'sfu:getRouterRtpCapabilities', {})).toMatchObject({ ok: false, error: { code: 'not_live' } });

    const rows = await server.db.select().from(attendance).where(eq(attendance.classId, f.classId));
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.leftAt).toBeInstanceOf(Date);
      // Watched as long as they were there (to the millisecond the timestamps keep).
      expect(Math.abs(row.watchSeconds - (row.leftAt!.getTime() - row.joinedAt.getTime()) / 1000)).toBeLessThan(1);
    }
    // Student 1 stayed through the teacher's grace period (1 s) and more.
    expect(rows.find((r) => r.userId === f.students[0]!.user.id)!.watchSeconds).toBeGreaterThanOrEqual(1);
    const [cls] = await server.db.select().from(liveClasses).where(eq(liveClasses.id, f.classId));
    expect(cls).toMatchObject({ status: 'ended', peakViewers: 2, totalViewers: 2 });
  });

  it('a student who switches to the broadcast (HLS) holds no transport or consumer; switching back consumes again', async () => {
    const f = await createLiveClass(server);
    const teacher = await teacherLive(f);
    const send = await askOk(teacher, 'sfu:createTransport', { direction: 'send' });
    await askOk(teacher, 'sfu:connectTransport', { transportId: send.id, dtlsParameters: FAKE_DTLS });
    const cam = await askOk(teacher, 'sfu:produce', {
      transportId: send.id,
      kind: 'video',
      rtpParameters: cameraRtpParameters(7000),
      source: 'camera',
    });
    const room = server.rooms.get(f.classId)!;
    const consumersOfCamera = (): Promise<number> => webRtcConsumerCount(server, f.classId, cam.producerId);

    const student = await open(f.students[0]!);
    await joinMedia(student, f.classId);
    await askOk(student, 'sfu:createTransport', { direction: 'recv' });
    await askOk(student, 'sfu:consume', { producerId: cam.producerId });
    expect(await consumersOfCamera()).toBe(1);
    expect(room.webRtcViewerCount()).toBe(1);

    // Bad causes are refused; the teacher cannot leave the real-time path.
    expect(await ask(student, 'sfu:useHls', { cause: 'because' })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(await ask(teacher, 'sfu:useHls', { cause: 'choice' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });

    const inHls = nextEvent(teacher, 'presence:update', (p) =>
      p.viewers.some((v: any) => v.userId === f.students[0]!.user.id && v.mode === 'hls'),
    );
    expect(await askOk(student, 'sfu:useHls', { cause: 'choice' })).toEqual({ mode: 'hls' });
    await inHls;
    // Nothing of the student's is left on the router: no consumer of the camera, only the teacher's transport.
    expect(await consumersOfCamera()).toBe(0);
    expect(await routerTransportCount(server, f.classId)).toBe(1);
    expect(room.peer(student.id!)).toBeUndefined();
    expect(room.webRtcViewerCount()).toBe(0);
    // Its media requests now need a new sfu:join.
    expect(await ask(student, 'sfu:createTransport', { direction: 'recv' })).toMatchObject({ ok: false, error: { code: 'not_joined' } });

    // A source published while the student watches the broadcast is not announced to them.
    let announced = 0;
    student.on('sfu:newProducer', () => announced++);
    const mic = await askOk(teacher, 'sfu:produce', {
      transportId: send.id,
      kind: 'audio',
      rtpParameters: micRtpParameters(7100),
      source: 'mic',
    });

    // Back to real time: the student consumes again.
    const back = nextEvent(teacher, 'presence:update', (p) =>
      p.viewers.some((v: any) => v.userId === f.students[0]!.user.id && v.mode === 'webrtc'),
    );
    const { media } = await joinMedia(student, f.classId);
    expect(media.mode).toBe('webrtc');
    expect(media.sources.map((x: any) => x.producerId).sort()).toEqual([cam.producerId, mic.producerId].sort());
    await back;
    await askOk(student, 'sfu:createTransport', { direction: 'recv' });
    await askOk(student, 'sfu:consume', { producerId: cam.producerId });
    expect(await consumersOfCamera()).toBe(1);
    expect(announced).toBe(0);
  });

  it('invites a student on stage: they publish and the teacher consumes; removing them closes their media', async () => {
    const f = await createLiveClass(server);
    const teacher = await teacherLive(f);
    const student = await open(f.students[0]!);
    await joinMedia(student, f.classId);
    expect(await ask(student, 'stage:answer', { accept: true })).toMatchObject({ ok: false, error: { code: 'not_invited' } });

    const invited = nextEvent(student, 'stage:update', (s) => s.invited.includes(f.students[0]!.user.id));
    await askOk(teacher, 'stage:invite', { userId: f.students[0]!.user.id });
    await invited;
    expect(await askOk(student, 'stage:answer', { accept: true })).toEqual({ onStage: true });
    const send = await askOk(student, 'sfu:createTransport', { direction: 'send' });
    expect(
      await ask(student, 'sfu:produce', {
        transportId: send.id,
        kind: 'video',
        rtpParameters: cameraRtpParameters(5000),
        source: 'screen',
      }),
    ).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    const newProducer = nextEvent(teacher, 'sfu:newProducer');
    const cam = await askOk(student, 'sfu:produce', {
      transportId: send.id,
      kind: 'video',
      rtpParameters: cameraRtpParameters(5000),
      source: 'camera',
    });
    expect(await newProducer).toMatchObject({ producerId: cam.producerId, userId: f.students[0]!.user.id });
    await askOk(teacher, 'sfu:createTransport', { direction: 'recv' });
    await askOk(teacher, 'sfu:consume', { producerId: cam.producerId });

    const closed = nextEvent(teacher, 'sfu:producerClosed');
    await askOk(teacher, 'stage:remove', { userId: f.students[0]!.user.id });
    expect(await closed).toEqual({ producerId: cam.producerId });
    expect(await ask(student, 'sfu:createTransport', { direction: 'send' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('stage:leave takes the student off the stage: the server closes their producers and send transport itself', async () => {
    const f = await createLiveClass(server);
    const me = f.students[0]!.user.id;
    const teacher = await teacherLive(f);
    const student = await open(f.students[0]!);
    await joinMedia(student, f.classId);
    const invited = nextEvent(student, 'stage:update', (s) => s.invited.includes(me));
    await askOk(teacher, 'stage:invite', { userId: me });
    await invited;
    await askOk(student, 'stage:answer', { accept: true });
    const send = await askOk(student, 'sfu:createTransport', { direction: 'send' });
    await askOk(student, 'sfu:connectTransport', { transportId: send.id, dtlsParameters: FAKE_DTLS });
    const cam = await askOk(student, 'sfu:produce', {
      transportId: send.id,
      kind: 'video',
      rtpParameters: cameraRtpParameters(6000),
      source: 'camera',
    });
    const mic = await askOk(student, 'sfu:produce', {
      transportId: send.id,
      kind: 'audio',
      rtpParameters: micRtpParameters(6100),
      source: 'mic',
    });
    const room = server.rooms.get(f.classId)!;
    const producers = room
      .mediaSources()
      .filter((s) => s.userId === me)
      .map((s) => s.producer);
    expect(producers.map((p) => p.id).sort()).toEqual([cam.producerId, mic.producerId].sort());
    const studentPeer = room.peers().find((p) => p.userId === me)!;
    const sendTransport = studentPeer.transports.get(send.id)!;

    // The student leaves without closing anything: the server does it, and everyone is told.
    const closedForTeacher = new Set<string>();
    const bothClosed = new Promise<void>((resolve) =>
      teacher.on('sfu:producerClosed', ({ producerId }: { producerId: string }) => {
        closedForTeacher.add(producerId);
        if (closedForTeacher.size === 2) resolve();
      }),
    );
    const offStage = nextEvent(teacher, 'stage:update', (s) => !s.userIds.includes(me));
    expect(await askOk(student, 'stage:leave', {})).toEqual({ onStage: false });
    await Promise.all([bothClosed, offStage]);
    expect([...closedForTeacher].sort()).toEqual([cam.producerId, mic.producerId].sort());
    expect(producers.every((p) => p.closed)).toBe(true);
    expect(sendTransport.closed).toBe(true);
    expect(room.mediaSources().filter((s) => s.userId === me)).toEqual([]);
    // Still in the class as a viewer, but no longer allowed to publish.
    expect(studentPeer.closed).toBe(false);
    expect(await ask(student, 'sfu:createTransport', { direction: 'send' })).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });
});
