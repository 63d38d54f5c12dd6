// Test fixtures for class interaction: a live class made of real rows (course, class, enrollments) and real
// socket.io-client connections authenticated by a registered user's session cookie.
import { io as connect, type Socket } from 'socket.io-client';
import type { Ack } from '../../server/contracts/realtime.ts';
import type { Database } from '../../server/db/client.ts';
import { courses, enrollments, liveClasses } from '../../server/db/schema.ts';
import { registerUser } from '../helpers/http-client.ts';

export type Person = Awaited<ReturnType<typeof registerUser>>;

/** A course taught by `teacher` with one live class, every student enrolled. Returns the class id. */
export async function createLiveClass(db: Database, teacher: Person, students: Person[], title = 'Interaction test class'): Promise<string> {
  const [course] = await db.insert(courses).values({ teacherId: teacher.user.id, title: `${title} course`, published: true }).returning();
  const [liveClass] = await db
    .insert(liveClasses)
    .values({ courseId: course!.id, teacherId: teacher.user.id, title, scheduledAt: new Date(), status: 'live', startedAt: new Date() })
    .returning();
  if (students.length) await db.insert(enrollments).values(students.map((s) => ({ userId: s.user.id, courseId: course!.id })));
  return liveClass!.id;
}

/** A connected socket for this person (websocket transport, their session cookie). */
export async function connectAs(url: string, person: Person): Promise<Socket> {
  const socket = connect(url, {
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

/** Emits and returns the raw acknowledgement (ok or error), for asserting both. */
export async function call<T = any>(socket: Socket, event: string, payload: unknown = {}): Promise<Ack<T>> {
  return (await socket.timeout(10_000).emitWithAck(event, payload)) as Ack<T>;
}

/** Emits and returns the ack's data; fails the test with the server's message otherwise. */
export async function ok<T = any>(socket: Socket, event: string, payload: unknown = {}): Promise<T> {
  const ack = await call<T>(socket, event, payload);
  if (!ack.ok) throw new Error(`${event} failed: ${ack.error.code}: ${ack.error.message}`);
  return ack.data;
}

/** The error code of a request that must fail. */
export async function errorOf(socket: Socket, event: string, payload: unknown = {}): Promise<{ code: string; message: string }> {
  const ack = await call(socket, event, payload);
  if (ack.ok) throw new Error(`${event} succeeded but should have failed: ${JSON.stringify(ack.data)}`);
  return ack.error;
}

/** Resolves with the next `event` whose payload passes `match`. */
export function nextEvent<T = any>(socket: Socket, event: string, match: (payload: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (payload: T): void => {
      if (!match(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(payload);
    };
    socket.on(event, listener);
  });
}

/** Collects every `event` the socket receives from now on. */
export function record<T = any>(socket: Socket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (payload: T) => seen.push(payload));
  return seen;
}

/** Connects and joins the class. */
export async function joinAs(url: string, person: Person, classId: string): Promise<Socket> {
  const socket = await connectAs(url, person);
  await ok(socket, 'class:join', { classId });
  return socket;
}
