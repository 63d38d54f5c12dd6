// WHIP ingest: who may publish a class from an encoder, and the one encoder session each class may have. A
// publish checks the stream key, the class and the offer, makes a scheduled class live (as Go live in the
// studio does), and joins the class as its teacher, so presence, the grace period and the auto-end rules
// treat the encoder as the teacher's connection: when it stops, the class stays live for the grace period.
import { ortc, type types } from 'mediasoup';
import type { StreamKeys } from '../auth/stream-keys.ts';
import type { SessionRecords } from '../cluster/session-nodes.ts';
import type { LiveClassLifecycle, PresentMember } from '../classes/live-class-lifecycle.ts';
import type { LiveClass, UserRole } from '../db/schema.ts';
import { DomainError } from '../domain-error.ts';
import type { Logger } from '../log.ts';
import { ROUTER_MEDIA_CODECS } from './media-codecs.ts';
import type { RoomRegistry } from './room-registry.ts';
import { parseWhipOffer, SdpRefusal } from './whip-sdp.ts';
import { WhipSession, type WhipCloseReason, type WhipTimeouts } from './whip-session.ts';

/** A refusal with the HTTP status WHIP clients understand (RFC 9725 leaves the body free; ours says why). */
export class WhipRefusal extends Error {
  readonly status: 400 | 401 | 403 | 404 | 409 | 415;
  readonly code: string;
  constructor(status: WhipRefusal['status'], code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface WhipIngestOptions {
  keys: Pick<StreamKeys, 'check'>;
  classes: { get(classId: string): Promise<LiveClass | null> };
  users: { byId(id: string): Promise<{ id: string; displayName: string; role: UserRole } | undefined> };
  /** Read only: whether the browser studio publishes. The live class opens its room (with its HLS bridge). */
  rooms: Pick<RoomRegistry, 'get'>;
  liveClasses: Pick<LiveClassLifecycle, 'goLive' | 'publishingRoom' | 'enter' | 'leave'>;
  timeouts: WhipTimeouts;
  /** With several nodes: where each session lives, so any node can relay its DELETE here. */
  records?: SessionRecords | undefined;
  log: Logger;
}

const memberId = (session: WhipSession): string => `whip:${session.id}`;

export class WhipIngest {
  readonly #options: WhipIngestOptions;
  readonly #log: Logger;
  /** The live encoder session of each class. */
  readonly #sessions = new Map<string, WhipSession>();
  /**
   * Sessions that ended lately, by id, with their key: an encoder closes its connection before sending DELETE
   * (OBS does), and that DELETE still deserves its 200.
   */
  readonly #ended = new Map<string, string>();
  /** Classes with a publish under way: a second one at the same time is a second publisher. */
  readonly #opening = new Set<string>();
  /** What the Router of every room takes (the same codecs everywhere), to read offers before going live. */
  readonly #caps: types.RtpCapabilities = ortc.generateRouterRtpCapabilities(ROUTER_MEDIA_CODECS);
  #closed = false;

  constructor(options: WhipIngestOptions) {
    this.#options = options;
    this.#log = options.log;
  }

  session(classId: string): WhipSession | undefined {
    return this.#sessions.get(classId);
  }

  /** Publishes the class from an encoder's offer; the session's `answer` goes back to the encoder. */
  async publish(classId: string, bearer: string | undefined, offerText: string): Promise<WhipSession> {
    if (this.#closed) throw new WhipRefusal(409, 'shutting_down', 'The server is shutting down');
    const check = await this.#options.keys.check(bearer);
    if (!check.ok) {
      const message = {
        missing: 'Send the class stream key as "Authorization: Bearer <key>" (OBS: the Bearer Token field)',
        unknown: 'This stream key is not valid: copy the key from the class studio',
        revoked: 'This stream key was replaced by a new one: copy the current key from the class studio',
      }[check.reason];
      throw new WhipRefusal(401, check.reason === 'revoked' ? 'revoked_key' : 'invalid_key', message);
    }
    const key = check.key;
    if (key.classId !== classId) throw new WhipRefusal(403, 'other_class', 'This stream key belongs to another class');
    const liveClass = await this.#options.classes.get(classId);
    if (!liveClass) throw new WhipRefusal(404, 'not_found', 'No such class');
    if (liveClass.status === 'ended' || liveClass.status === 'cancelled')
      throw new WhipRefusal(403, 'class_over', `This class is ${liveClass.status}: it cannot go live again`);
    const creator = key.createdBy ? await this.#options.users.byId(key.createdBy) : undefined;
    if (!creator || (creator.id !== liveClass.teacherId && creator.role !== 'admin'))
      throw new WhipRefusal(403, 'not_teacher', 'This stream key was made by someone who no longer teaches this class');
    const teacher = creator.id === liveClass.teacherId ? creator : await this.#options.users.byId(liveClass.teacherId);
    if (!teacher) throw new WhipRefusal(403, 'not_teacher', 'This class has no teacher to publish as');

    let offer;
    try {
      offer = parseWhipOffer(offerText, this.#caps);
    } catch (err) {
      if (err instanceof SdpRefusal) throw new WhipRefusal(err.status, err.code, err.message);
      throw err;
    }

    if (this.#opening.has(classId)) throw new WhipRefusal(409, 'publisher_busy', 'Another encoder is connecting to this class');
    this.#opening.add(classId);
    try {
      const existing = this.#sessions.get(classId);
      if (existing) {
        // The same encoder coming back (its old session lost its media without a DELETE) replaces it.
        if (existing.streamKeyId === key.id && !existing.connected) existing.close('replaced');
        else throw new WhipRefusal(409, 'publisher_busy', 'An encoder is already publishing this class: stop it first');
      }
      const room = this.#options.rooms.get(classId);
      const studio = room?.peers().some((p) => p.role === 'teacher' && !p.id.startsWith('whip:') && p.producers.size > 0);
      if (studio)
        throw new WhipRefusal(
          409,
          'publisher_busy',
          'The class is live from the browser studio: stop publishing there (or switch the source to the encoder) first',
        );

      try {
        await this.#options.liveClasses.goLive(classId);
      } catch (err) {
        if (err instanceof DomainError) throw new WhipRefusal(403, 'class_over', err.message);
        throw err;
      }
      const session = await WhipSession.open({
        room: await this.#options.liveClasses.publishingRoom(classId),
        offer,
        publisher: { userId: teacher.id, displayName: teacher.displayName },
        streamKeyId: key.id,
        timeouts: this.#options.timeouts,
        log: this.#log,
      }).catch((err: unknown) => {
        if (err instanceof DomainError && err.code === 'invalid_input') throw new WhipRefusal(400, 'invalid_sdp', err.message);
        throw err;
      });
      this.#sessions.set(classId, session);
      await this.#options.records?.opened(session.id);
      const member: PresentMember = { socketId: memberId(session), userId: teacher.id, displayName: teacher.displayName, role: 'teacher' };
      session.once('close', (reason) => this.#onClose(session, reason));
      await this.#options.liveClasses.enter(classId, member);
      return session;
    } finally {
      this.#opening.delete(classId);
    }
  }

  /** DELETE on the session resource: only with the key it was published with. */
  async remove(classId: string, sessionId: string, bearer: string | undefined): Promise<void> {
    const session = this.#sessions.get(classId);
    const check = await this.#options.keys.check(bearer);
    if (!check.ok && check.reason !== 'revoked')
      throw new WhipRefusal(401, 'invalid_key', 'Send the stream key this session was published with');
    const keyId = check.ok ? check.key.id : check.key?.id;
    if (session && session.id === sessionId && session.streamKeyId === keyId) return session.close('deleted');
    if (keyId !== undefined && this.#ended.get(sessionId) === keyId) return;
    throw new WhipRefusal(404, 'not_found', 'No such WHIP session');
  }

  /** Ends the class's encoder session (the teacher's button in the studio); false when there was none. */
  end(classId: string): boolean {
    const session = this.#sessions.get(classId);
    session?.close('deleted');
    return session !== undefined;
  }

  /** The key was rotated: a session published with it ends. */
  revokeKey(streamKeyId: string): void {
    for (const session of [...this.#sessions.values()]) if (session.streamKeyId === streamKeyId) session.close('revoked');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const session of [...this.#sessions.values()]) session.close('shutdown');
  }

  #onClose(session: WhipSession, reason: WhipCloseReason): void {
    if (this.#sessions.get(session.classId) === session) this.#sessions.delete(session.classId);
    this.#options.records?.closed(session.id);
    this.#ended.set(session.id, session.streamKeyId);
    if (this.#ended.size > 1000) this.#ended.delete(this.#ended.keys().next().value!);
    if (reason === 'shutdown') return;
    // As when the studio's socket drops: the teacher's grace period starts unless they are still here.
    this.#options.liveClasses
      .leave(session.classId, memberId(session))
      .catch((err: unknown) => this.#log.error({ err, classId: session.classId }, 'could not record the encoder leaving'));
  }
}
