// WHEP playback: who may watch a live class with a WHEP player, and the sessions of this process. A viewer is let
// in on the same rules as the class page (the teacher, an admin, or an enrolled student the teacher has not
// removed), takes a WebRTC seat like a student (503 with the reason when the class or the machine is full),
// and counts in presence and attendance as a member of the class until the session ends. The class's teacher
// watching their own class is not entered in presence: that would make an absent teacher look present.
import type { Permissions } from '../auth/permissions.ts';
import type { SessionUser } from '../auth/session-store.ts';
import type { SessionRecords } from '../cluster/session-nodes.ts';
import type { LiveClassLifecycle, PresentMember } from '../classes/live-class-lifecycle.ts';
import { MAX_SOCKETS_PER_PERSON } from '../contracts/realtime.ts';
import { DomainError } from '../domain-error.ts';
import type { Logger } from '../log.ts';
import type { SessionTimeouts } from './transport-watch.ts';
import { parseWhepOffer, type WhepOffer } from './whep-sdp.ts';
import { SdpRefusal } from './webrtc-sdp.ts';
import { WhepSession, type WhepCloseReason } from './whep-session.ts';

/** A refusal with the HTTP status WHEP players understand; the message says why. */
export class WhepRefusal extends Error {
  readonly status: 400 | 403 | 404 | 409 | 415 | 503;
  readonly code: string;
  constructor(status: WhepRefusal['status'], code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface WhepPlaybackOptions {
  permissions: Pick<Permissions, 'classEntry'>;
  /** Opens the live class's room; presence and attendance of the viewers. */
  liveClasses: Pick<LiveClassLifecycle, 'room' | 'enter' | 'leave' | 'setMode'>;
  timeouts: SessionTimeouts;
  /** With several nodes: where each session lives, so any node can relay its DELETE here. */
  records?: SessionRecords | undefined;
  log: Logger;
}

const memberId = (session: WhepSession): string => `whep:${session.id}`;

export class WhepPlayback {
  readonly #options: WhepPlaybackOptions;
  readonly #log: Logger;
  /** Open sessions by id. */
  readonly #sessions = new Map<string, WhepSession>();
  /** Sessions that ended lately (id -> user): a player closes its connection before its DELETE, which still gets 200. */
  readonly #ended = new Map<string, string>();
  /** Sessions that entered presence (the teacher's do not). */
  readonly #present = new Set<WhepSession>();
  #closed = false;

  constructor(options: WhepPlaybackOptions) {
    this.#options = options;
    this.#log = options.log;
  }

  session(sessionId: string): WhepSession | undefined {
    return this.#sessions.get(sessionId);
  }

  sessionsOf(classId: string): WhepSession[] {
    return [...this.#sessions.values()].filter((s) => s.classId === classId);
  }

  /** Opens a session for `user` from their offer; its `answer` goes back to the player. */
  async play(classId: string, user: SessionUser, offerText: string): Promise<WhepSession> {
    if (this.#closed) throw new WhepRefusal(503, 'shutting_down', 'The server is shutting down');
    const entry = await this.#options.permissions.classEntry(user, classId);
    if (!entry.ok) {
      if (entry.reason === 'no_class') throw new WhepRefusal(404, 'not_found', 'No such class');
      if (entry.reason === 'removed') throw new WhepRefusal(403, 'removed', 'The teacher removed you from this class');
      throw new WhepRefusal(403, 'not_enrolled', 'Enroll in this course to watch its classes');
    }
    const { role, liveClass } = entry;
    if (liveClass.status !== 'live') {
      const why = { scheduled: 'This class is not live yet', ended: 'This class has ended', cancelled: 'This class was cancelled' };
      throw new WhepRefusal(409, 'not_live', why[liveClass.status]);
    }
    let offer: WhepOffer;
    try {
      offer = parseWhepOffer(offerText);
    } catch (err) {
      if (err instanceof SdpRefusal) throw new WhepRefusal(err.status, err.code, err.message);
      throw err;
    }
    const mine = this.sessionsOf(classId).filter((s) => s.userId === user.id);
    if (mine.length >= MAX_SOCKETS_PER_PERSON)
      throw new WhepRefusal(409, 'too_many_sessions', `You watch this class in ${mine.length} WHEP sessions already; stop one first`);

    const room = await this.#options.liveClasses.room(classId).catch((err: unknown) => {
      if (err instanceof DomainError) throw new WhepRefusal(409, 'not_live', err.message);
      throw err;
    });
    const id = WhepSession.newId();
    const peer = room.addPeer({ id: `whep:${id}`, userId: user.id, displayName: user.displayName, role });
    const seat = await room.admit(peer).catch((err: unknown) => {
      peer.close();
      if (err instanceof DomainError) throw new WhepRefusal(409, 'not_live', err.message);
      throw err;
    });
    if (!seat.admitted) {
      peer.close();
      throw new WhepRefusal(503, 'full', seat.reason);
    }
    const session = await WhepSession.open({
      room,
      peer,
      offer,
      teacherId: liveClass.teacherId,
      timeouts: this.#options.timeouts,
      log: this.#log,
    }).catch((err: unknown) => {
      if (err instanceof DomainError) throw new WhepRefusal(409, 'not_live', err.message);
      throw err;
    });
    this.#sessions.set(session.id, session);
    session.once('close', (reason) => this.#onClose(session, reason));
    await this.#options.records?.opened(session.id);
    if (this.#closed) {
      session.close('shutdown');
      throw new WhepRefusal(503, 'shutting_down', 'The server is shutting down');
    }
    if (role !== 'teacher') {
      const member: PresentMember = { socketId: memberId(session), userId: user.id, displayName: user.displayName, role };
      this.#present.add(session);
      await this.#options.liveClasses.enter(classId, member);
      session.once('connected', () => {
        if (this.#present.has(session))
          this.#options.liveClasses
            .setMode(classId, memberId(session), 'webrtc')
            .catch((err: unknown) => this.#log.warn({ err, classId }, 'could not record the WHEP viewer as receiving'));
      });
    }
    this.#log.info({ classId, userId: user.id, whepSessionId: session.id, playing: session.playing() }, 'WHEP viewer joined');
    return session;
  }

  /**
   * DELETE on the session resource, by the viewer it belongs to. A session that ended lately answers as if it
   * were deleted now (players close their connection first); an unknown one is 404.
   */
  remove(classId: string, sessionId: string, user: SessionUser): void {
    const session = this.#sessions.get(sessionId);
    const owner = session?.classId === classId ? session.userId : this.#ended.get(`${classId}/${sessionId}`);
    if (owner === undefined) throw new WhepRefusal(404, 'not_found', 'No such WHEP session');
    if (owner !== user.id) throw new WhepRefusal(403, 'not_yours', 'This WHEP session belongs to someone else');
    session?.close('deleted');
  }

  /** The teacher removed a student from the class: their sessions end at once. */
  removeUser(classId: string, userId: string): void {
    for (const session of this.sessionsOf(classId)) if (session.userId === userId) session.close('removed');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const session of [...this.#sessions.values()]) session.close('shutdown');
  }

  #onClose(session: WhepSession, reason: WhepCloseReason): void {
    this.#sessions.delete(session.id);
    this.#options.records?.closed(session.id);
    this.#ended.set(`${session.classId}/${session.id}`, session.userId);
    if (this.#ended.size > 1000) this.#ended.delete(this.#ended.keys().next().value!);
    const present = this.#present.delete(session);
    // At shutdown the live class closes every attendance row itself.
    if (!present || reason === 'shutdown') return;
    this.#options.liveClasses
      .leave(session.classId, memberId(session))
      .catch((err: unknown) => this.#log.error({ err, classId: session.classId }, 'could not record the WHEP viewer leaving'));
  }
}
