// Test fixtures for live classes: a teacher, a course, a class and enrolled students, written straight into
// the database (the course API is not what these tests are about), and Socket.io clients with a session.
import { io as connect, type Socket } from 'socket.io-client';
import { courses, enrollments, liveClasses } from '../../server/db/schema.ts';
import { registerUser, type HttpClient } from '../helpers/http-client.ts';
import type { TestServer } from '../helpers/server.ts';

export interface Person {
  client: HttpClient;
  user: { id: string; email: string; displayName: string; role: string };
  password: string;
}

export interface ClassFixture {
  classId: string;
  courseId: string;
  teacher: Person;
  students: Person[];
  outsider: Person;
}

export async function createLiveClass(server: TestServer, options: { students?: number; title?: string } = {}): Promise<ClassFixture> {
  const db = server.services.db;
  const teacher = await registerUser(server.url, 'teacher', 'Ada Teacher');
  const [course] = await db
    .insert(courses)
    .values({ teacherId: teacher.user.id, title: 'Signals and Systems', published: true })
    .returning();
  const [liveClass] = await db
    .insert(liveClasses)
    .values({ courseId: course!.id, teacherId: teacher.user.id, title: options.title ?? 'Fourier, live', scheduledAt: new Date() })
    .returning();
  const students: Person[] = [];
  for (let i = 0; i < (options.students ?? 1); i++) {
    const student = await registerUser(server.url, 'student', `Student ${i + 1}`);
    await db.insert(enrollments).values({ userId: student.user.id, courseId: course!.id });
    students.push(student);
  }
  const outsider = await registerUser(server.url, 'student', 'Not Enrolled');
  return { classId: liveClass!.id, courseId: course!.id, teacher, students, outsider };
}

export async function socketFor(server: TestServer, person: Person): Promise<Socket> {
  const socket = connect(server.url, {
    path: '/socket.io',
    transports: ['websocket'],
    extraHeaders: { cookie: person.client.cookieHeader },
    reconnection: false,
    forceNew: true,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

export type AckResult = { ok: true; data: any } | { ok: false; error: { code: string; message: string } };

export function ask(socket: Socket, event: string, payload?: unknown): Promise<AckResult> {
  return socket.timeout(10_000).emitWithAck(event, payload) as Promise<AckResult>;
}

export async function askOk(socket: Socket, event: string, payload?: unknown): Promise<any> {
  const ack = await ask(socket, event, payload);
  if (!ack.ok) throw new Error(`${event} failed: ${ack.error.code} ${ack.error.message}`);
  return ack.data;
}

/** RTP parameters like a browser's for a simulcast VP8 camera (3 layers) and an Opus mic. */
export function cameraRtpParameters(seed = 1000): Record<string, unknown> {
  return {
    mid: '0',
    codecs: [
      { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }, { type: 'goog-remb' }] },
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
  fingerprints: [{ algorithm: 'sha-256', value: 'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99' }],
};
