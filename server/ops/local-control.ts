// A Unix socket in the data directory through which commands run on this machine reach the running server:
// with the embedded database only one process may open it, so `npm run seed` asks the server that holds it.
// Only the data directory's owner can connect (mode 0600); one JSON line in, one JSON line out; bounded.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import type { Logger } from '../log.ts';

export const LOCAL_CONTROL_FILE = 'lectern.sock';
const MAX_REQUEST_BYTES = 4096;
const IDLE_MS = 30_000;

export const LocalRequest = z.object({ command: z.enum(['demo-data']) });
export type LocalRequest = z.infer<typeof LocalRequest>;
export type LocalReply = { ok: true; output: string } | { ok: false; error: string };

type Handler = (request: LocalRequest) => Promise<string>;

export class LocalControl {
  readonly path: string;
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #closed = false;

  private constructor(socketPath: string, server: net.Server) {
    this.path = socketPath;
    this.#server = server;
  }

  /** Listens in `dataDir`; a socket file left by a process that is gone is replaced (the caller holds the data lock). */
  static async open(dataDir: string, handle: Handler, log: Logger): Promise<LocalControl> {
    const socketPath = path.join(dataDir, LOCAL_CONTROL_FILE);
    fs.rmSync(socketPath, { force: true });
    const server = net.createServer();
    const control = new LocalControl(socketPath, server);
    server.on('connection', (socket) => control.#serve(socket, handle, log));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    fs.chmodSync(socketPath, 0o600);
    return control;
  }

  #serve(socket: net.Socket, handle: Handler, log: Logger): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    let buffer = '';
    const reply = (r: LocalReply): void => void socket.end(`${JSON.stringify(r)}\n`);
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString('utf8');
      if (buffer.length > MAX_REQUEST_BYTES) return reply({ ok: false, error: 'request too large' });
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      socket.off('data', onData);
      let request: LocalRequest;
      try {
        request = LocalRequest.parse(JSON.parse(buffer.slice(0, end)));
      } catch {
        return reply({ ok: false, error: 'unknown request' });
      }
      handle(request).then(
        (output) => reply({ ok: true, output }),
        (err: unknown) => {
          log.error({ err, command: request.command }, 'local command failed');
          reply({ ok: false, error: err instanceof Error ? err.message : String(err) });
        },
      );
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    fs.rmSync(this.path, { force: true });
  }
}

/** Sends one request to the server listening in `dataDir`; rejects when nobody answers there. */
export function askRunningServer(dataDir: string, request: LocalRequest, timeoutMs = 60_000): Promise<LocalReply> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path.join(dataDir, LOCAL_CONTROL_FILE));
    let answer = '';
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('the running server did not answer in time')));
    socket.once('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (d: Buffer) => (answer += d.toString('utf8')));
    socket.once('error', reject);
    socket.once('end', () => {
      try {
        resolve(JSON.parse(answer) as LocalReply);
      } catch {
        reject(new Error('the running server gave an unreadable answer'));
      }
    });
  });
}
