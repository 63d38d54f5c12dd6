// The media server's side of the pre-join connectivity check: a browser asks for a probe transport (a WebRTC
// transport with a data channel and nothing else, on a router kept for probes), connects to it over UDP only, TCP
// only, or a TURN relay, and reads whether that worked and the round-trip time from its own ICE statistics. The
// server answers with the same addresses and TURN credentials a class would get, so the check tests the real
// path. Bounded: a few probes per connection, each closed after PROBE_LIFETIME_MS or when the connection goes.
import type { types } from 'mediasoup';
import { ProbeConnect, ProbeRef, type ProbeInfo, type ProbeStatus } from '../contracts/sfu.ts';
import { NoPayload } from '../contracts/realtime.ts';
import { DomainError } from '../domain-error.ts';
import type { Logger } from '../log.ts';
import { onRequest } from '../realtime/requests.ts';
import { iceServersFor, type IceServer, type TurnOptions } from '../net/turn-credentials.ts';
import type { LecternSocket } from '../realtime/socket-server.ts';
import type { WorkerPool } from './worker-pool.ts';

export const MAX_PROBES_PER_CONNECTION = 3;
export const PROBE_LIFETIME_MS = 30_000;

export class ConnectivityProbes {
  readonly #workers: WorkerPool;
  readonly #media: { iceServers: IceServer[]; turn: TurnOptions | undefined };
  readonly #log: Logger;
  #router: Promise<{ router: types.Router; webRtcServer: types.WebRtcServer }> | undefined;
  #closed = false;

  constructor(workers: WorkerPool, media: { iceServers: IceServer[]; turn: TurnOptions | undefined }, log: Logger) {
    this.#workers = workers;
    this.#media = media;
    this.#log = log;
  }

  /** One router for every probe, made when the first probe is asked for; remade if its worker died. */
  #probeRouter(): Promise<{ router: types.Router; webRtcServer: types.WebRtcServer }> {
    if (!this.#router) {
      const opening = this.#workers.createRouter({ mediaCodecs: [], appData: { probes: true } }).then(({ router, pooled }) => {
        router.observer.once('close', () => {
          if (this.#router === opening) this.#router = undefined;
        });
        return { router, webRtcServer: pooled.webRtcServer };
      });
      opening.catch(() => (this.#router = undefined));
      this.#router = opening;
    }
    return this.#router;
  }

  /** Adds the probe requests to an authenticated connection; its transports close with it. */
  attach(socket: LecternSocket): void {
    const probes = new Map<string, { transport: types.WebRtcTransport; timer: NodeJS.Timeout }>();
    const log = this.#log.child({ userId: socket.data.user?.id });
    const own = (probeId: string): types.WebRtcTransport => {
      const probe = probes.get(probeId);
      if (!probe) throw new DomainError('not_found', 'No such probe (it lasts 30 s)');
      return probe.transport;
    };
    const drop = (probeId: string): void => {
      const probe = probes.get(probeId);
      if (!probe) return;
      probes.delete(probeId);
      clearTimeout(probe.timer);
      probe.transport.close();
    };

    onRequest(
      socket,
      'net:probe',
      NoPayload,
      async (): Promise<ProbeInfo> => {
        if (this.#closed) throw new DomainError('gone', 'The server is shutting down');
        if (probes.size >= MAX_PROBES_PER_CONNECTION)
          throw new DomainError('slow_down', `At most ${MAX_PROBES_PER_CONNECTION} probes at once`);
        const { router, webRtcServer } = await this.#probeRouter();
        const transport = await router.createWebRtcTransport({
          webRtcServer,
          enableUdp: true,
          enableTcp: true,
          preferUdp: true,
          enableSctp: true,
          appData: { probe: true },
        });
        if (socket.disconnected || probes.size >= MAX_PROBES_PER_CONNECTION) {
          transport.close();
          throw new DomainError('gone', 'The connection closed');
        }
        const timer = setTimeout(() => drop(transport.id), PROBE_LIFETIME_MS);
        timer.unref();
        probes.set(transport.id, { transport, timer });
        transport.observer.once('close', () => drop(transport.id));
        return {
          probeId: transport.id,
          iceParameters: transport.iceParameters,
          iceCandidates: transport.iceCandidates,
          dtlsParameters: transport.dtlsParameters,
          sctpParameters: transport.sctpParameters,
          iceServers: iceServersFor(this.#media, socket.data.user.id),
        };
      },
      log,
    );
    onRequest(
      socket,
      'net:probeConnect',
      ProbeConnect,
      async ({ probeId, dtlsParameters }) => {
        try {
          await own(probeId).connect({ dtlsParameters: dtlsParameters as unknown as types.DtlsParameters });
        } catch (err) {
          if (err instanceof DomainError) throw err;
          throw new DomainError('invalid_input', `Cannot connect the probe: ${(err as Error).message}`);
        }
        return { connected: true };
      },
      log,
    );
    onRequest(
      socket,
      'net:probeStatus',
      ProbeRef,
      ({ probeId }): ProbeStatus => {
        const transport = own(probeId);
        return { iceState: transport.iceState, dtlsState: transport.dtlsState, protocol: transport.iceSelectedTuple?.protocol };
      },
      log,
    );
    onRequest(
      socket,
      'net:probeClose',
      ProbeRef,
      ({ probeId }) => {
        drop(probeId);
        return { closed: true };
      },
      log,
    );
    socket.once('disconnect', () => {
      for (const id of [...probes.keys()]) drop(id);
    });
  }

  close(): void {
    this.#closed = true;
    void this.#router?.then(({ router }) => router.close()).catch(() => {});
    this.#router = undefined;
  }
}
