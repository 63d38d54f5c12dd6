// Test fixtures for live classes: a teacher, a course, a class and enrolled students, written straight into
// the database (the course API is not what these tests are about), and Socket.io clients with a session.
import type { Socket } from 'socket.io-client';
import type { Ack } from '../../server/contracts/realtime.ts';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { insertClass } from '../helpers/live-class.ts';
import type { TestServer } from '../helpers/server.ts';
import { call, connectAs, ok } from '../helpers/socket-client.ts';

export type Person = RegisteredUser;

export interface ClassFixture {
  classId: string;
  courseId: string;
  teacher: Person;
  students: Person[];
  outsider: Person;
}

/** A scheduled (not yet started) class with `students` enrolled students and one registered outsider. */
export async function createLiveClass(server: TestServer, options: { students?: number; title?: string } = {}): Promise<ClassFixture> {
  const teacher = await registerUser(server.url, 'teacher', 'Ada Teacher');
  const students: Person[] = [];
  for (let i = 0; i < (options.students ?? 1); i++) students.push(await registerUser(server.url, 'student', `Student ${i + 1}`));
  const outsider = await registerUser(server.url, 'student', 'Not Enrolled');
  const { classId, courseId } = await insertClass(server.db, {
    teacherId: teacher.user.id,
    studentIds: students.map((s) => s.user.id),
    title: options.title ?? 'Fourier, live',
    courseTitle: 'Signals and Systems',
    live: false,
  });
  return { classId, courseId, teacher, students, outsider };
}

export function socketFor(server: TestServer, person: Person): Promise<Socket> {
  return connectAs(server.url, person);
}

export type AckResult = Ack<any>;

export function ask(socket: Socket, event: string, payload?: unknown): Promise<AckResult> {
  return call(socket, event, payload);
}

export function askOk(socket: Socket, event: string, payload?: unknown): Promise<any> {
  return ok(socket, event, payload);
}

/** RTP parameters like a browser's for a simulcast VP8 camera (3 layers) and an Opus mic. */
export function cameraRtpParameters(seed = 1000): Record<string, unknown> {
  return {
    mid: '0',
    codecs: [
      {
        mimeType: 'video/VP8',
        payloadType: 96,
        clockRate: 90000,
        rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }, { type: 'goog-remb' }],
      },
      { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 } },
    ],
    headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 }],
    encodings: [
      { ssrc: seed + 1, rtx: { ssrc: seed + 2 }, rid: undefined, scaleResolutionDownBy: 4 },
      { ssrc: seed + 3, rtx: { ssrc: seed + 4 }, scaleResolutionDownBy: 2 },
      { ssrc: seed + 5, rtx: { ssrc: seed + 6 }, scaleResolutionDownBy: 1 },
    ].map(({ rid: _rid, ...e }) => e),
    rtcp: { cname: `cam-${seed}`, reducedSize: true },
  };
}

export function micRtpParameters(seed = 2000): Record<string, unknown> {
  return {
    mid: '1',
    codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } }],
    headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 1 }],
    encodings: [{ ssrc: seed + 1 }],
    rtcp: { cname: `mic-${seed}`, reducedSize: true },
  };
}

/** A client's fake DTLS parameters (the transport never gets traffic in socket-level tests). */
export const FAKE_DTLS = {
  role: 'client',
  fingerprints: [
    { algorithm: 'sha-256', value: 'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99' },
  ],
};

/** The teacher (joined to the class) goes live, joins the media session and opens a connected send transport. */
export async function goLiveWithSendTransport(teacher: Socket): Promise<{ rtp: any; send: any }> {
  await askOk(teacher, 'class:goLive', {});
  const rtp = await askOk(teacher, 'sfu:getRouterRtpCapabilities', {});
  await askOk(teacher, 'sfu:join', { rtpCapabilities: rtp.routerRtpCapabilities });
  const send = await askOk(teacher, 'sfu:createTransport', { direction: 'send' });
  await askOk(teacher, 'sfu:connectTransport', { transportId: send.id, dtlsParameters: FAKE_DTLS });
  return { rtp, send };
}

/** Publishes a fake simulcast camera (or an Opus mic) on a send transport; resolves with its producer id. */
export function produceFake(socket: Socket, transportId: string, source: 'camera' | 'mic', seed?: number): Promise<{ producerId: string }> {
  return askOk(socket, 'sfu:produce', {
    transportId,
    kind: source === 'camera' ? 'video' : 'audio',
    rtpParameters: source === 'camera' ? cameraRtpParameters(seed) : micRtpParameters(seed),
    source,
  });
}
