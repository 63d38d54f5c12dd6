// Every producer, consumer and transport belongs to the connection that made it: another member of the class
// (a student, a student on stage, even the teacher) who learns its real id — producer ids are broadcast to the
// whole class — cannot close, pause, resume, re-layer, connect, restart ICE on or publish through it, and
// neither can someone in another class. Each refusal is checked for having changed nothing.
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { errorOf, nextEvent } from '../helpers/socket-client.ts';
import {
  askOk,
  cameraRtpParameters,
  createLiveClass,
  FAKE_DTLS,
  goLiveWithSendTransport,
  micRtpParameters,
  produceFake,
  socketFor,
  type Person,
} from './fixtures.ts';

/** Joins the class and its media session the way the browser does. */
async function joinMedia(socket: Socket, classId: string): Promise<void> {
  await askOk(socket, 'class:join', { classId });
  const rtp = await askOk(socket, 'sfu:getRouterRtpCapabilities', {});
  await askOk(socket, 'sfu:join', { rtpCapabilities: rtp.routerRtpCapabilities });
}

const SERVER_PUSHES = ['sfu:producerClosed', 'sfu:consumerClosed', 'sfu:consumerPaused', 'sfu:consumerResumed', 'sfu:reset'];

describe("another peer's producers, consumers and transports", () => {
  let server: TestServer;
  const sockets: Socket[] = [];
  const open = async (person: Person): Promise<Socket> => {
    const socket = await socketFor(server, person);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await server?.stop();
  });

  it('refuses every request on an id the requester does not own, and the owner keeps full control', async () => {
    const f = await createLiveClass(server, { students: 3 });
    const [alice, bob, carol] = f.students as [Person, Person, Person];

    // The teacher publishes camera and mic.
    const teacher = await open(f.teacher);
    await askOk(teacher, 'class:join', { classId: f.classId });
    const { send: teacherSend } = await goLiveWithSendTransport(teacher);
    const camera = await produceFake(teacher, teacherSend.id, 'camera');
    const mic = await produceFake(teacher, teacherSend.id, 'mic');

    // Alice watches; Bob watches and is on stage with his own camera; his receive transport is not connected yet.
    const aliceSocket = await open(alice);
    await joinMedia(aliceSocket, f.classId);
    const aliceRecv = await askOk(aliceSocket, 'sfu:createTransport', { direction: 'recv' });
    const aliceConsumer = await askOk(aliceSocket, 'sfu:consume', { producerId: camera.producerId });
    await askOk(aliceSocket, 'sfu:resumeConsumer', { consumerId: aliceConsumer.consumerId });

    const bobSocket = await open(bob);
    await joinMedia(bobSocket, f.classId);
    const bobRecv = await askOk(bobSocket, 'sfu:createTransport', { direction: 'recv' });
    const bobConsumer = await askOk(bobSocket, 'sfu:consume', { producerId: camera.producerId });
    await askOk(teacher, 'stage:invite', { userId: bob.user.id });
    await askOk(bobSocket, 'stage:answer', { accept: true });
    const bobSend = await askOk(bobSocket, 'sfu:createTransport', { direction: 'send' });
    await askOk(bobSocket, 'sfu:connectTransport', { transportId: bobSend.id, dtlsParameters: FAKE_DTLS });
    const bobCamera = await askOk(bobSocket, 'sfu:produce', {
      transportId: bobSend.id,
      kind: 'video',
      rtpParameters: cameraRtpParameters(7000),
      source: 'camera',
    });
    const teacherRecv = await askOk(teacher, 'sfu:createTransport', { direction: 'recv' });
    const teacherConsumer = await askOk(teacher, 'sfu:consume', { producerId: bobCamera.producerId });

    // Someone in another live class of the same server.
    const other = await createLiveClass(server, { students: 1 });
    const otherTeacher = await open(other.teacher);
    await askOk(otherTeacher, 'class:join', { classId: other.classId });
    await askOk(otherTeacher, 'class:goLive', {});
    await joinMedia(otherTeacher, other.classId);
    await askOk(otherTeacher, 'sfu:createTransport', { direction: 'send' });
    await askOk(otherTeacher, 'sfu:createTransport', { direction: 'recv' });

    // Everything the server could push about the media, from here on.
    const seen = new Map<Socket, string[]>();
    for (const s of [teacher, aliceSocket, bobSocket]) {
      const events: string[] = [];
      seen.set(s, events);
      for (const event of SERVER_PUSHES) s.on(event, () => events.push(event));
    }

    const attempts: [string, Socket, string, Record<string, unknown>][] = [
      // A student on the teacher's producers.
      ['alice closes the teacher camera', aliceSocket, 'sfu:closeProducer', { producerId: camera.producerId }],
      ['alice pauses the teacher mic', aliceSocket, 'sfu:pauseProducer', { producerId: mic.producerId }],
      ['alice resumes the teacher camera', aliceSocket, 'sfu:resumeProducer', { producerId: camera.producerId }],
      // A student on another student's consumer and transports.
      ['alice pauses bob consumer', aliceSocket, 'sfu:pauseConsumer', { consumerId: bobConsumer.consumerId }],
      ['alice resumes bob consumer', aliceSocket, 'sfu:resumeConsumer', { consumerId: bobConsumer.consumerId }],
      ['alice re-layers bob consumer', aliceSocket, 'sfu:setPreferredLayers', { consumerId: bobConsumer.consumerId, spatialLayer: 2 }],
      ['alice asks a key frame on bob consumer', aliceSocket, 'sfu:requestKeyFrame', { consumerId: bobConsumer.consumerId }],
      ['alice connects bob transport', aliceSocket, 'sfu:connectTransport', { transportId: bobRecv.id, dtlsParameters: FAKE_DTLS }],
      ['alice restarts ICE of the teacher', aliceSocket, 'sfu:restartIce', { transportId: teacherSend.id }],
      ['alice restarts ICE of bob', aliceSocket, 'sfu:restartIce', { transportId: bobRecv.id }],
      // A student on stage, who may publish, through the teacher's transport, or on the teacher's producer.
      [
        'bob publishes through the teacher transport',
        bobSocket,
        'sfu:produce',
        { transportId: teacherSend.id, kind: 'audio', rtpParameters: micRtpParameters(9000), source: 'mic' },
      ],
      ['bob pauses the teacher camera', bobSocket, 'sfu:pauseProducer', { producerId: camera.producerId }],
      ['bob restarts ICE of alice', bobSocket, 'sfu:restartIce', { transportId: aliceRecv.id }],
      // The teacher moderates with stage:remove and moderation:*, not with other people's media ids.
      ['the teacher closes bob camera', teacher, 'sfu:closeProducer', { producerId: bobCamera.producerId }],
      ['the teacher pauses alice consumer', teacher, 'sfu:pauseConsumer', { consumerId: aliceConsumer.consumerId }],
      ['the teacher restarts ICE of bob', teacher, 'sfu:restartIce', { transportId: bobSend.id }],
      // Someone in another class.
      ['another class closes the camera', otherTeacher, 'sfu:closeProducer', { producerId: camera.producerId }],
      ['another class consumes the camera', otherTeacher, 'sfu:consume', { producerId: camera.producerId }],
      [
        'another class connects alice transport',
        otherTeacher,
        'sfu:connectTransport',
        { transportId: aliceRecv.id, dtlsParameters: FAKE_DTLS },
      ],
      ['another class pauses alice consumer', otherTeacher, 'sfu:pauseConsumer', { consumerId: aliceConsumer.consumerId }],
    ];
    const outcomes = [];
    for (const [what, socket, event, payload] of attempts) outcomes.push([what, (await errorOf(socket, event, payload)).code]);
    expect(outcomes).toEqual(attempts.map(([what]) => [what, 'not_found']));

    // Nothing moved: no pause, close or reset was pushed to anyone during the attempts...
    for (const events of seen.values()) expect(events).toEqual([]);
    // ...the teacher's sources are there and running for a newcomer...
    const carolSocket = await open(carol);
    await askOk(carolSocket, 'class:join', { classId: f.classId });
    const carolRtp = await askOk(carolSocket, 'sfu:getRouterRtpCapabilities', {});
    const carolMedia = await askOk(carolSocket, 'sfu:join', { rtpCapabilities: carolRtp.routerRtpCapabilities });
    expect(carolMedia.sources.map((s: { producerId: string; paused: boolean }) => [s.producerId, s.paused]).sort()).toEqual(
      [
        [bobCamera.producerId, false],
        [camera.producerId, false],
        [mic.producerId, false],
      ].sort(),
    );
    // ...Bob's receive transport was never connected by Alice (connecting it is still his first time)...
    expect(await askOk(bobSocket, 'sfu:connectTransport', { transportId: bobRecv.id, dtlsParameters: FAKE_DTLS })).toEqual({
      connected: true,
    });
    // ...and every owner still controls what is theirs, which the others hear about.
    const alicePaused = nextEvent(aliceSocket, 'sfu:consumerPaused', (e) => e.producerId === camera.producerId);
    expect(await askOk(teacher, 'sfu:pauseProducer', { producerId: camera.producerId })).toEqual({ paused: true });
    await alicePaused;
    expect(await askOk(aliceSocket, 'sfu:setPreferredLayers', { consumerId: aliceConsumer.consumerId, spatialLayer: 1 })).toEqual({
      applied: true,
    });
    expect((await askOk(aliceSocket, 'sfu:restartIce', { transportId: aliceRecv.id })).iceParameters.usernameFragment).toBeTruthy();
    expect(await askOk(teacher, 'sfu:pauseConsumer', { consumerId: teacherConsumer.consumerId })).toEqual({ paused: true });
    expect((await askOk(teacher, 'sfu:restartIce', { transportId: teacherRecv.id })).iceParameters.usernameFragment).toBeTruthy();
    const teacherSeesClose = nextEvent(teacher, 'sfu:producerClosed', (e) => e.producerId === bobCamera.producerId);
    expect(await askOk(bobSocket, 'sfu:closeProducer', { producerId: bobCamera.producerId })).toEqual({ closed: true });
    await teacherSeesClose;
  });
});
