// Socket.io on the same HTTP server and port as the API and pages. A socket is authenticated by the same
// session cookie as HTTP; with REDIS_URL the Redis adapter lets several processes share class rooms.
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../contracts/protocol.ts';
import type { SessionCookies } from '../auth/session-cookies.ts';
import type { SessionStore, SessionUser } from '../auth/session-store.ts';
import type { Logger } from '../log.ts';
import type { InterNodeEvents } from '../cluster/inter-node.ts';
import { closeClient, warnOncePerOutage } from '../cluster/cluster-redis.ts';

export interface SocketData {
  user: SessionUser;
  sessionId: string;
}

/** The Socket.io server, typed by the protocol (contracts/protocol.ts) and what nodes tell each other (cluster/inter-node.ts). */
export type LecternIo = Server<ClientToServerEvents, ServerToClientEvents, InterNodeEvents, SocketData>;
export type LecternSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterNodeEvents, SocketData>;

/** Every socket of one login session: logging out (or the session expiring) disconnects them all. */
export function sessionRoom(sessionId: string): string {
  return `session:${sessionId}`;
}

/**
 * Browsers send Origin on a WebSocket handshake and on cross-origin polling; our pages connect from our own
 * origin (LECTERN_ORIGIN, else the Host the request came to). SameSite=Lax keeps the cookie off cross-site
 * pages, but a page on a sibling subdomain or port is "same-site": this check keeps it from riding the
 * visitor's session. Clients without an Origin (not a browser) authenticate by cookie alone.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, configured: string | undefined): boolean {
  if (!origin) return true;
  if (configured) return origin === new URL(configured).origin;
  try {
    return !!host && new URL(origin).host === host;
  } catch {
    return false;
  }
}

export interface SocketServerOptions {
  /** LECTERN_ORIGIN: the only origin allowed to connect (else the Host the request came to). */
  origin: string | undefined;
  /** REDIS_URL: class rooms shared with the other server processes. */
  redisUrl: string | undefined;
  /** Key prefix of the adapter's channels (processes of one deployment share it). */
  redisPrefix: string;
  /** Authenticates the handshake by the session cookie, as HTTP does. */
  cookies: SessionCookies;
  /** Ended sessions (logout, expiry) disconnect their sockets. */
  sessions: Pick<SessionStore, 'on' | 'off'>;
  log: Logger;
}

export async function createSocketServer(
  httpServer: HttpServer,
  { origin, redisUrl, redisPrefix, cookies, sessions, log }: SocketServerOptions,
): Promise<{ io: LecternIo; close(): Promise<void> }> {
  const io: LecternIo = new Server(httpServer, {
    path: '/socket.io',
    serveClient: false,
    maxHttpBufferSize: 256 * 1024,
    pingInterval: 10_000,
    pingTimeout: 8_000,
    connectionStateRecovery: { maxDisconnectionDuration: 60_000, skipMiddlewares: false },
    cors: origin ? { origin, credentials: true } : undefined,
    allowRequest: (req, callback) => {
      const allowed = originAllowed(req.headers.origin, req.headers.host, origin);
      callback(allowed ? null : 'origin not allowed', allowed);
    },
  });

  io.use(async (socket, next) => {
    try {
      const { current } = await cookies.resolve(socket.handshake.headers.cookie);
      if (!current) return next(new Error('unauthenticated'));
      socket.data.user = current.user;
      socket.data.sessionId = current.session.id;
      next();
    } catch (err) {
      log.error({ err }, 'socket authentication failed');
      next(new Error('internal'));
    }
  });

  io.on('connection', (socket) => void socket.join(sessionRoom(socket.data.sessionId)));
  const endSessions = (sessionIds: string[]): void => {
    io.in(sessionIds.map(sessionRoom)).disconnectSockets(true);
  };
  sessions.on('invalidate', endSessions);

  const closers: (() => Promise<void>)[] = [async () => void sessions.off('invalidate', endSessions)];
  if (redisUrl) {
    const { createClient } = await import('redis');
    const { createAdapter } = await import('@socket.io/redis-adapter');
    const pub = createClient({ url: redisUrl });
    const sub = pub.duplicate();
    // The adapter's own pair (a subscribed connection runs no other command), apart from the node's command connection.
    warnOncePerOutage(pub, log, 'Socket.io adapter, publish');
    warnOncePerOutage(sub, log, 'Socket.io adapter, subscribe');
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub, { key: redisPrefix }));
    closers.push(async () => {
      await Promise.all([closeClient(pub), closeClient(sub)]);
    });
    log.info({ prefix: redisPrefix }, 'socket.io uses the Redis adapter');
  }

  return {
    io,
    async close() {
      await new Promise<void>((resolve) => io.close(() => resolve()));
      for (const c of closers) await c();
    },
  };
}
