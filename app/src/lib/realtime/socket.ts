// The browser side of the request/acknowledge envelope: one Socket.io connection, promise-based requests.
import { io, type Socket } from 'socket.io-client';
import type { Ack } from '@lectern/contracts/realtime';

export class RequestError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export function connectSocket(): Socket {
  return io({ path: '/socket.io', withCredentials: true, transports: ['websocket', 'polling'] });
}

/** Emits `event` and resolves with the ack's data, or rejects with the server's error (or a timeout). */
export async function request<T>(socket: Socket, event: string, payload: unknown = {}, timeoutMs = 10_000): Promise<T> {
  const ack = (await socket
    .timeout(timeoutMs)
    .emitWithAck(event, payload)
    .catch(() => {
      throw new RequestError('timeout', `No answer from the server for ${event}`);
    })) as Ack<T>;
  if (!ack.ok) throw new RequestError(ack.error.code, ack.error.message);
  return ack.data;
}
