// The browser side of the request/acknowledge envelope: one Socket.io connection, typed by the protocol
// (@lectern/contracts/protocol), and promise-based requests.
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, RequestName, RequestPayload, RequestResult, ServerToClientEvents } from '@lectern/contracts/protocol';
import type { Ack } from '@lectern/contracts/realtime';

/** The page's connection to the server: it hears ServerToClientEvents and sends ClientToServerEvents. */
export type ClassSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export class RequestError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export function connectSocket(): ClassSocket {
  return io({ path: '/socket.io', withCredentials: true, transports: ['websocket', 'polling'] });
}

/** Emits request `event` and resolves with the ack's data, or rejects with the server's error (or a timeout). */
export async function request<E extends RequestName>(
  socket: ClassSocket,
  event: E,
  payload: RequestPayload<E>,
  timeoutMs = 10_000,
): Promise<RequestResult<E>> {
  // The protocol types each request; emitWithAck's own typing cannot follow a generic event name.
  const timed = socket.timeout(timeoutMs) as unknown as {
    emitWithAck(event: E, payload: RequestPayload<E>): Promise<Ack<RequestResult<E>>>;
  };
  const ack = await timed.emitWithAck(event, payload).catch(() => {
    throw new RequestError('timeout', `No answer from the server for ${event}`);
  });
  if (!ack.ok) throw new RequestError(ack.error.code, ack.error.message);
  return ack.data;
}

/** Listens to server event `event`; returns what removes the listener. */
export function listen<E extends keyof ServerToClientEvents>(socket: ClassSocket, event: E, listener: ServerToClientEvents[E]): () => void {
  socket.on(event, listener as never);
  return () => void socket.off(event, listener as never);
}
