// One page's connection to a live class, for the classroom and the studio alike: the socket, the join (again
// after every reconnect), the class's status, presence and stage as the server pushes them, and the media
// session while the class is live. Reactive (Svelte runes) so pages render it directly; close() ends the media,
// removes every listener and disconnects.
import type { ClassJoined } from '@lectern/contracts/realtime';
import type { ClassStatusPush, PresencePush, StageUpdatePush } from '@lectern/contracts/live-class';
import type { TeacherMediaPush } from '@lectern/contracts/sfu';
import type { RequestName, RequestPayload, RequestResult, ServerToClientEvents } from '@lectern/contracts/protocol';
import { SfuSession, type SfuSessionOptions } from '#lib/media/sfu-session.svelte.ts';
import { connectSocket, listen, request, type ClassSocket } from './socket.ts';

export interface ClassConnectionOptions {
  /** How this page's media session is made (a student's falls back to HLS; the teacher's retries). */
  media?: SfuSessionOptions;
  /**
   * Run the media session whenever the class is live (the classroom). Without it the page starts it with
   * startMedia() (the studio's Go live); from then on the connection rebuilds it after each rejoin likewise.
   */
  mediaWhenLive?: boolean;
  /** The class ended or was cancelled: the media is closed; the page lets go of what it holds besides. */
  onEnded?: () => void;
}

export class ClassConnection {
  readonly classId: string;
  readonly socket: ClassSocket;
  /** 'offline' from a drop until the socket is back (it reconnects and rejoins by itself). */
  state = $state<'connecting' | 'online' | 'offline'>('connecting');
  /** The join's answer; undefined while not joined (before the first join, and from a drop to the rejoin). */
  joined = $state<ClassJoined | undefined>();
  status = $state<ClassStatusPush | undefined>();
  presence = $state<PresencePush | undefined>();
  stage = $state<StageUpdatePush | undefined>();
  /** What the media server receives of the teacher's media: published sources, and those whose packets arrive. */
  teacherMedia = $state<TeacherMediaPush | undefined>();
  /** The page's media session on the SFU, once the class is live and the page wants media. */
  media = $state<SfuSession | undefined>();
  /** The last failure to show (joining, the media), in words; pages report their own through it too. */
  problem = $state<string | undefined>();

  readonly #options: ClassConnectionOptions;
  #mediaWanted: boolean;
  readonly #unlisten: (() => void)[] = [];
  #closed = false;

  constructor(classId: string, options: ClassConnectionOptions = {}) {
    this.classId = classId;
    this.#options = options;
    this.#mediaWanted = options.mediaWhenLive ?? false;
    this.socket = connectSocket();
    this.socket.on('connect', () => {
      this.state = 'online';
      void this.#join();
    });
    this.socket.on('disconnect', () => {
      this.state = 'offline';
      this.joined = undefined;
      this.teacherMedia = undefined;
    });
    this.socket.on('connect_error', () => (this.state = 'offline'));
    this.listen('class:status', (push: ClassStatusPush) => this.applyStatus(push));
    this.listen('presence:update', (push: PresencePush) => (this.presence = push));
    this.listen('stage:update', (push: StageUpdatePush) => (this.stage = push));
    this.listen('sfu:teacherMedia', (push: TeacherMediaPush) => (this.teacherMedia = push));
  }

  /** The user on this connection, once joined. */
  get me(): string | undefined {
    return this.joined?.user.id;
  }

  /** Sends a class request on this connection (rejects with the server's refusal). */
  request<E extends RequestName>(event: E, payload: RequestPayload<E>): Promise<RequestResult<E>> {
    return request(this.socket, event, payload);
  }

  /** Listens to a push for as long as the connection lives. */
  listen<E extends keyof ServerToClientEvents>(event: E, listener: ServerToClientEvents[E]): void {
    this.#unlisten.push(listen(this.socket, event, listener));
  }

  /** A new status (pushed, or answered to go-live or end): a change starts or closes the media. */
  applyStatus(push: ClassStatusPush): void {
    const changed = push.status !== this.status?.status;
    this.status = push;
    if (changed) void this.#syncMedia();
  }

  /** Starts the media session now and keeps it running across rejoins (the studio's Go live). */
  async startMedia(): Promise<SfuSession> {
    this.#mediaWanted = true;
    const session = this.#session();
    await session.start();
    return session;
  }

  /** Closes the media session; it starts again only through startMedia(). */
  stopMedia(): void {
    this.#mediaWanted = false;
    this.media?.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.media?.close();
    for (const off of this.#unlisten.splice(0)) off();
    this.socket.off('connect').off('disconnect').off('connect_error');
    this.socket.disconnect();
  }

  async #join(): Promise<void> {
    try {
      this.joined = await this.request('class:join', { classId: this.classId });
      this.problem = undefined;
      await this.#syncMedia();
    } catch (err) {
      this.problem = (err as Error).message;
    }
  }

  /** Starts (or, after a rejoin, rebuilds) the media once joined and live; closes it when the class ends. */
  async #syncMedia(): Promise<void> {
    if (this.#closed) return;
    if (this.status?.status === 'live' && this.#mediaWanted && this.joined) {
      await this.#session()
        .start()
        .catch((err: Error) => (this.problem = `Could not connect to the class: ${err.message}`));
    } else if (this.status?.status === 'ended' || this.status?.status === 'cancelled') {
      this.stopMedia();
      this.#options.onEnded?.();
    }
  }

  #session(): SfuSession {
    if (!this.media || this.media.state === 'closed') this.media = new SfuSession(this.socket, this.#options.media);
    return this.media;
  }
}
