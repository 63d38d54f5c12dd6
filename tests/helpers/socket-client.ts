// Real socket.io-client connections for tests, authenticated by a registered person's session cookie, and
// the request/acknowledgement and event helpers the realtime and SFU tests share.
import { io as connect, type Socket } from 'socket.io-client';
import type { ChatMessage } from '../../server/contracts/interaction.ts';
import type { Ack } from '../../server/contracts/realtime.ts';
import type { RegisteredUser } from './http-client.ts';

function openSocket(url: string, person: RegisteredUser, origin?: string): Socket {
  return connect(url, {
    path: '/socket.io',
    transports: ['websocket'],
    extraHeaders: { cookie: person.client.cookieHeader, ...(origin === undefined ? {} : { origin }) },
    reconnection: false,
    forceNew: true,
  });
}

/** A connected socket for this person (websocket transport, their session cookie). */
export async function connectAs(url: string, person: RegisteredUser): Promise<Socket> {
  const socket = openSocket(url, person);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

/**
 * Whether a socket with this person's cookie (and, like a browser page, this Origin header) gets in: 'connected'
 * (then closed again) or the server's refusal message.
 */
export function socketOutcome(url: string, person: RegisteredUser, origin?: string): Promise<string> {
  const socket = openSocket(url, person, origin);
  return new Promise((resolve) => {
    socket.once('connect', () => {
      socket.disconnect();
      resolve('connected');
    });
    socket.once('connect_error', (err) => {
      socket.disconnect();
      resolve(err.message);
    });
  });
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
export function nextEvent<T = any>(
  socket: Socket,
  event: string,
  match: (payload: T) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<T> {
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

/** Resolves with the next chat message passing `match`, whichever batch of `chat:messages` carries it. */
export function nextChatMessage(socket: Socket, match: (message: ChatMessage) => boolean, timeoutMs = 10_000): Promise<ChatMessage> {
  return nextEvent<ChatMessage[]>(socket, 'chat:messages', (batch) => batch.some(match), timeoutMs).then((batch) => batch.find(match)!);
}

/** Connects and joins the class. */
export async function joinAs(url: string, person: RegisteredUser, classId: string): Promise<Socket> {
  const socket = await connectAs(url, person);
  await ok(socket, 'class:join', { classId });
  return socket;
}
