// The live classes of this process, each the one owner of its media: scheduled -> live (the teacher goes live;
// the class opens its SFU room and attaches its HLS bridge) -> ended (the room closes, every transport with it,
// and the bridge finalises the recording). Only here are rooms opened (going live, or a client asking for the
// media of a live class whose room is gone: a server restart, a dead worker) and closed (the end). It also keeps
// who is present, the teacher's grace period when they drop, attendance rows (join/leave/watch time per
// student), peak and total viewers, and who is on stage (stored here only: a peer asks, and leaving the stage
// is the peer's own leaveStage()). A teacher who never comes back does not leave a class live forever: after
// the grace period it is interrupted, and after a longer limit it ends by itself.
// Everything for one class runs in order (a per-class queue), so a join racing a go-live cannot double-count.
// With several server processes (Redis), each keeps this state for the members it holds and records them in the
// class's roster (cluster/presence-store.ts), which answers for every node: whether the teacher is connected
// through another node before this one calls them away, the class-wide student count for the peak. Members of a
// node that died are handed to `departed()` (their attendance closes; a teacher who was only there is away, as
// when their socket drops here). In a cluster the class's media originates on one node (where the teacher
// publishes); another node's room is an edge fed from it (`placement`), and each node applies the status the
// others share (applySharedStatus).
import { EventEmitter } from 'node:events';
import { AwaitQueue } from 'awaitqueue';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { attendance, liveClasses, type LiveClass } from '../db/schema.ts';
import type { ClassRole, ClassStatusPush, PresencePush, PresenceViewer, StageUpdatePush } from '../contracts/live-class.ts';
import { DomainError } from '../domain-error.ts';
import type { RoomRegistry } from '../sfu/room-registry.ts';
import type { ClassroomRoom } from '../sfu/classroom-room.ts';
import type { HlsBridge } from '../hls/hls-bridge.ts';
import type { LiveHls } from '../hls/live-hls.ts';
import type { Logger } from '../log.ts';

export interface PresentMember {
  socketId: string;
  userId: string;
  displayName: string;
  role: ClassRole;
}

interface Presence extends PresentMember {
  mode: PresenceViewer['mode'];
  attendanceId: string | undefined;
}

interface ClassState {
  classId: string;
  teacherId: string;
  status: LiveClass['status'];
  startedAt: Date | null;
  endedAt: Date | null;
  peakViewers: number;
  totalViewers: number;
  members: Map<string, Presence>;
  teacher: ClassStatusPush['teacher'];
  /** Runs while the teacher is away: first the grace period, then the limit before the class ends itself. */
  graceTimer: NodeJS.Timeout | undefined;
  invited: Set<string>;
  onStage: Set<string>;
  /** The class's SFU room while it is live and open, and the HLS bridge on it (it closes with the room). */
  room: ClassroomRoom | undefined;
  bridge: Promise<HlsBridge | undefined> | undefined;
}

type LifecycleEvents = {
  status: [ClassStatusPush];
  presence: [PresencePush];
  stage: [StageUpdatePush];
};

/** Who is in each class through every node of a cluster (cluster/presence-store.ts); only this process's own members without it. */
export interface ClassRoster {
  enter(member: PresentMember & { classId: string; mode: PresenceViewer['mode'] }): Promise<void>;
  setMode(classId: string, socketId: string, mode: PresenceViewer['mode']): Promise<void>;
  attended(classId: string, socketId: string, attendanceId: string): Promise<void>;
  leave(classId: string, socketId: string): Promise<void>;
  studentCount(classId: string): Promise<number>;
  connected(classId: string, userId: string, role: ClassRole): Promise<boolean>;
}

/** A member of a node that is gone, as its roster entry had them. */
export interface DepartedMember {
  classId: string;
  socketId: string;
  userId: string;
  role: ClassRole;
  attendanceId?: string | undefined;
}

export interface LiveClassLifecycleOptions {
  db: Database;
  rooms: RoomRegistry;
  /** Bridges each room into HLS and the recording (the bridge closes with the room). */
  liveHls: Pick<LiveHls, 'attach'>;
  graceSeconds: number;
  /** How long a class stays interrupted (teacher gone past the grace period) before it ends by itself. */
  interruptedEndMinutes: number;
  /** In a cluster: every node's members (this process's own are recorded there as they enter, change and leave). */
  roster?: ClassRoster | undefined;
  /** In a cluster: where each class's media originates, and how an edge room is fed from there. */
  placement?: ClassMediaPlacement | undefined;
  log: Logger;
}

export interface ClassMediaPlacement {
  /** undefined: the class's media originates here (claimed for this node; `publish` takes it over); else the origin node. */
  originFor(classId: string, publish: boolean): Promise<string | undefined>;
  /** Feeds an edge room (`room.fedFrom`) from its origin node, with every source it has now. */
  feed(room: ClassroomRoom): Promise<void>;
}

export class LiveClassLifecycle extends EventEmitter<LifecycleEvents> {
  readonly #db: Database;
  readonly #rooms: RoomRegistry;
  readonly #liveHls: Pick<LiveHls, 'attach'>;
  readonly #graceMs: number;
  readonly #interruptedEndMs: number;
  readonly #log: Logger;
  readonly #roster: ClassRoster | undefined;
  readonly #placement: ClassMediaPlacement | undefined;
  readonly #classes = new Map<string, ClassState>();
  /** One queue per class with work in flight. */
  readonly #queues = new Map<string, AwaitQueue>();
  #closed = false;

  constructor(options: LiveClassLifecycleOptions) {
    super();
    this.setMaxListeners(0);
    this.#db = options.db;
    this.#rooms = options.rooms;
    this.#liveHls = options.liveHls;
    this.#graceMs = options.graceSeconds * 1000;
    this.#interruptedEndMs = options.interruptedEndMinutes * 60_000;
    this.#log = options.log;
    this.#roster = options.roster;
    this.#placement = options.placement;
  }

  /** The class's current status (from memory when someone is in it, else from the database). */
  async status(classId: string): Promise<ClassStatusPush> {
    const state = this.#classes.get(classId) ?? (await this.#load(classId));
    return this.#statusOf(state);
  }

  presence(classId: string): PresencePush | undefined {
    const state = this.#classes.get(classId);
    return state && this.#presenceOf(state);
  }

  stage(classId: string): StageUpdatePush {
    const state = this.#classes.get(classId);
    return { classId, userIds: state ? [...state.onStage] : [], invited: state ? [...state.invited] : [] };
  }

  isOnStage(classId: string, userId: string): boolean {
    return this.#classes.get(classId)?.onStage.has(userId) ?? false;
  }

  /**
   * The room of a live class, opened again when it is gone (the server restarted mid-class, or its worker died
   * and the clients rebuild their media). Refuses when the class is not live.
   */
  room(classId: string): Promise<ClassroomRoom> {
    // The common case answers at once, not behind the class's queued joins and attendance writes.
    const open = this.#classes.get(classId);
    if (open?.status === 'live' && open.room && !open.room.closed) return Promise.resolve(open.room);
    return this.#serial(classId, async (state) => {
      if (state.status !== 'live')
        throw new DomainError('not_live', state.status === 'ended' ? 'This class has ended' : 'This class is not live yet');
      return this.#openRoom(state);
    });
  }

  /**
   * The room the teacher publishes into: in a cluster, a room on this node that originates the class (an edge
   * room here closes, and the class's media originates here from now on: the teacher is here).
   */
  publishingRoom(classId: string): Promise<ClassroomRoom> {
    return this.#serial(classId, async (state) => {
      if (state.status !== 'live')
        throw new DomainError('not_live', state.status === 'ended' ? 'This class has ended' : 'This class is not live yet');
      return this.#openRoom(state, true);
    });
  }

  /**
   * A status another node of the cluster announced (its clients heard it already): this node's class follows, so
   * it answers the same. Ended elsewhere: the room here closes and the attendance rows here close.
   */
  applySharedStatus(push: ClassStatusPush): Promise<void> {
    if (!this.#classes.has(push.classId) || this.#closed) return Promise.resolve();
    return this.#serial(push.classId, async (state) => {
      if (push.status === 'ended' || push.status === 'cancelled') {
        if (state.status === 'ended' || state.status === 'cancelled') return;
        this.#finish(state, push.status, push.endedAt ? new Date(push.endedAt) : new Date());
        for (const present of state.members.values()) await this.#closeAttendance(present);
        this.#emitPresence(state);
        this.#forgetIfIdle(state);
        return;
      }
      if (push.status === 'live' && state.status === 'scheduled') {
        Object.assign(state, { status: 'live', startedAt: push.startedAt ? new Date(push.startedAt) : new Date() });
        for (const present of state.members.values()) await this.#openAttendance(state, present);
      }
      if (state.status !== 'live' || push.teacher === state.teacher) return;
      const teacherHere = [...state.members.values()].some((m) => m.userId === state.teacherId);
      if (push.teacher === 'present') {
        clearTimeout(state.graceTimer);
        state.graceTimer = undefined;
        state.teacher = 'present';
      } else if (!teacherHere && state.teacher === 'present') {
        // Away on the node they left: this node keeps the same grace period, in case that node dies meanwhile.
        this.#startGrace(state, false);
        state.teacher = push.teacher;
      } else if (!teacherHere) state.teacher = push.teacher;
    });
  }

  /**
   * Who is on stage, as another node of the cluster changed it (its clients heard it already): this node's class
   * follows, and a student of this node taken off the stage stops publishing here.
   */
  applySharedStage(push: StageUpdatePush): Promise<void> {
    if (!this.#classes.has(push.classId) || this.#closed) return Promise.resolve();
    return this.#serial(push.classId, async (state) => {
      const left = [...state.onStage].filter((userId) => !push.userIds.includes(userId));
      state.onStage = new Set(push.userIds);
      state.invited = new Set(push.invited);
      for (const peer of state.room?.peers() ?? []) if (left.includes(peer.userId)) peer.leaveStage();
    });
  }

  /** A member joined the class (any status). Opens their attendance when the class is live. */
  async enter(classId: string, member: PresentMember): Promise<ClassStatusPush> {
    // Recorded first: the class's first load here asks the roster whether its teacher is connected (this may be
    // them), and the presence this entry pushes, read from the roster, counts them.
    await this.#recorded(classId, (roster) => roster.enter({ ...member, classId, mode: 'waiting' }));
    return this.#serial(classId, async (state) => {
      state.members.set(member.socketId, { ...member, mode: 'waiting', attendanceId: undefined });
      if (member.role === 'teacher') {
        clearTimeout(state.graceTimer);
        state.graceTimer = undefined;
        state.teacher = 'present';
        // Told even when this process had them present: another process may have called them away meanwhile.
        this.emit('status', this.#statusOf(state));
      }
      if (state.status === 'live') await this.#openAttendance(state, state.members.get(member.socketId)!);
      this.#emitPresence(state);
      return this.#statusOf(state);
    }).catch(async (err: unknown) => {
      await this.#recorded(classId, (roster) => roster.leave(classId, member.socketId));
      throw err;
    });
  }

  /** A member left (or vanished). Closes their attendance; the teacher's last socket starts the grace period. */
  leave(classId: string, socketId: string): Promise<void> {
    return this.#serial(classId, async (state) => {
      const present = state.members.get(socketId);
      if (!present) return;
      state.members.delete(socketId);
      await this.#recorded(classId, (roster) => roster.leave(classId, socketId));
      await this.#closeAttendance(present);
      const stillHere = [...state.members.values()].some((m) => m.userId === present.userId);
      if (!stillHere && state.onStage.delete(present.userId)) this.emit('stage', this.stage(classId));
      if (!stillHere) state.invited.delete(present.userId);
      if (present.role === 'teacher' && !stillHere && state.status === 'live') this.#startGrace(state);
      this.#emitPresence(state);
      this.#forgetIfIdle(state);
    });
  }

  /**
   * Members of a node that is gone (killed, or this node starting again under its name), already out of the
   * roster: their attendance rows close now, they leave the stage, the presence is pushed again, and a teacher
   * who was connected only there is away: the grace period runs here (told to every node), then the interruption
   * and the end, as when their last socket drops on this node.
   */
  async departed(members: DepartedMember[]): Promise<void> {
    const byClass = Map.groupBy(members, (m) => m.classId);
    await Promise.all(
      [...byClass].map(([classId, gone]) =>
        this.#serial(classId, async (state) => {
          for (const { attendanceId } of gone) await this.#closeAttendance({ attendanceId });
          let stageChanged = false;
          for (const userId of new Set(gone.map((m) => m.userId))) {
            const here = [...state.members.values()].some((m) => m.userId === userId);
            if (here || (await this.#connectedElsewhere(classId, userId, 'student'))) continue;
            stageChanged = state.onStage.delete(userId) || stageChanged;
            stageChanged = state.invited.delete(userId) || stageChanged;
          }
          if (stageChanged) this.emit('stage', this.stage(classId));
          const teacherGone = gone.some((m) => m.userId === state.teacherId);
          const teacherHere = [...state.members.values()].some((m) => m.userId === state.teacherId);
          if (
            teacherGone &&
            !teacherHere &&
            state.status === 'live' &&
            state.teacher === 'present' &&
            !(await this.#teacherElsewhere(state))
          ) {
            this.#log.warn({ classId }, "the teacher's node is gone: the grace period runs");
            this.#startGrace(state);
          }
          this.#emitPresence(state);
          this.#forgetIfIdle(state);
        }),
      ),
    );
  }

  /** The class's presence pushed again as it is now (the roster was written back after Redis lost it). */
  pushPresence(classId: string): void {
    const state = this.#classes.get(classId);
    if (state) this.#emitPresence(state);
  }

  /** How the member receives media now (the viewer cap may send them to HLS). */
  setMode(classId: string, socketId: string, mode: PresenceViewer['mode']): Promise<void> {
    return this.#serial(classId, async (state) => {
      const present = state.members.get(socketId);
      if (!present || present.mode === mode) return;
      present.mode = mode;
      await this.#recorded(classId, (roster) => roster.setMode(classId, socketId, mode));
      if (present.attendanceId && mode !== 'waiting') {
        await this.#db.update(attendance).set({ mode }).where(eq(attendance.id, present.attendanceId));
      }
      this.#emitPresence(state);
    });
  }

  /** scheduled -> live (idempotent while live). Opens the class's room. */
  goLive(classId: string): Promise<ClassStatusPush> {
    return this.#serial(classId, async (state) => {
      const [row] = await this.#db
        .update(liveClasses)
        .set({ status: 'live', startedAt: sql`coalesce(${liveClasses.startedAt}, now())` })
        .where(and(eq(liveClasses.id, classId), inArray(liveClasses.status, ['scheduled', 'live'])))
        .returning();
      if (!row) {
        throw new DomainError(
          state.status === 'cancelled' ? 'cancelled' : 'ended',
          `This class is ${state.status} and cannot go live again`,
        );
      }
      const wasLive = state.status === 'live';
      Object.assign(state, { status: row.status, startedAt: row.startedAt, endedAt: row.endedAt });
      await this.#openRoom(state, true); // only the teacher goes live: the class's media originates where they are
      for (const present of state.members.values()) await this.#openAttendance(state, present);
      if (!wasLive) this.#log.info({ classId }, 'class is live');
      this.emit('status', this.#statusOf(state));
      this.#emitPresence(state);
      return this.#statusOf(state);
    });
  }

  /** live -> ended: closes the room (every transport) and every open attendance row. */
  end(classId: string): Promise<ClassStatusPush> {
    return this.#serial(classId, async (state) => {
      if (state.status === 'ended') return this.#statusOf(state);
      const [row] = await this.#db
        .update(liveClasses)
        .set({ status: 'ended', endedAt: new Date(), startedAt: sql`coalesce(${liveClasses.startedAt}, now())` })
        .where(and(eq(liveClasses.id, classId), inArray(liveClasses.status, ['scheduled', 'live'])))
        .returning();
      if (!row) {
        // Ended (or cancelled) by another node meanwhile: this node's class follows.
        const [now] = await this.#db.select().from(liveClasses).where(eq(liveClasses.id, classId)).limit(1);
        if (now?.status !== 'ended') throw new DomainError('cancelled', 'This class was cancelled');
        this.#finish(state, now.status, now.endedAt ?? new Date());
        for (const present of state.members.values()) await this.#closeAttendance(present);
        this.#forgetIfIdle(state);
        return this.#statusOf(state);
      }
      Object.assign(state, { startedAt: row.startedAt });
      this.#finish(state, row.status, row.endedAt ?? new Date());
      for (const present of state.members.values()) await this.#closeAttendance(present);
      this.#log.info({ classId, peakViewers: state.peakViewers, totalViewers: state.totalViewers }, 'class ended');
      this.emit('status', this.#statusOf(state));
      this.#emitPresence(state);
      this.#forgetIfIdle(state);
      return this.#statusOf(state);
    });
  }

  /** The class is over here: timers, stage and room go (attendance rows are the caller's, it awaits them). */
  #finish(state: ClassState, status: LiveClass['status'], endedAt: Date): void {
    Object.assign(state, { status, endedAt });
    clearTimeout(state.graceTimer);
    state.graceTimer = undefined;
    state.onStage.clear();
    state.invited.clear();
    state.room?.close();
  }

  invite(classId: string, userId: string): Promise<void> {
    return this.#serial(classId, async (state) => {
      if (state.status !== 'live') throw new DomainError('not_live', 'Invite students on stage while the class is live');
      const here = [...state.members.values()].some((m) => m.userId === userId && m.role === 'student');
      const elsewhere = !here && (await this.#connectedElsewhere(classId, userId, 'student'));
      if (!here && !elsewhere) throw new DomainError('not_found', 'That student is not in the class');
      state.invited.add(userId);
      this.emit('stage', this.stage(classId));
    });
  }

  answerInvite(classId: string, userId: string, accept: boolean): Promise<boolean> {
    return this.#serial(classId, async (state) => {
      if (!state.invited.delete(userId)) throw new DomainError('not_invited', 'You were not invited on stage');
      if (accept) state.onStage.add(userId);
      this.emit('stage', this.stage(classId));
      return accept;
    });
  }

  removeFromStage(classId: string, userId: string): Promise<void> {
    return this.#serial(classId, async (state) => {
      const wasOnStage = state.onStage.delete(userId);
      if (!wasOnStage && !state.invited.delete(userId)) return;
      if (wasOnStage) for (const peer of state.room?.peers() ?? []) if (peer.userId === userId) peer.leaveStage();
      this.emit('stage', this.stage(classId));
    });
  }

  /**
   * Server shutdown (the classes stay live for the next process): waits for queued work, stops the timers,
   * closes the open attendance rows, and closes each class's media: its bridge first (ffmpeg writes its last
   * segments into the recording while the room still carries them), then its room.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#queues.values()].map((queue) => queue.push(async () => {})));
    await Promise.all(
      [...this.#classes.values()].map(async (state) => {
        clearTimeout(state.graceTimer);
        for (const present of state.members.values()) await this.#closeAttendance(present).catch(() => {});
        const { room, bridge } = state;
        await (await bridge)?.close();
        room?.close();
      }),
    );
    this.#classes.clear();
  }

  // ---------------------------------------------------------------------------------------------------------

  #serial<T>(classId: string, work: (state: ClassState) => Promise<T>): Promise<T> {
    let queue = this.#queues.get(classId);
    if (!queue) this.#queues.set(classId, (queue = new AwaitQueue()));
    const ran = queue.push(async () => {
      let state = this.#classes.get(classId);
      if (!state) {
        state = await this.#load(classId);
        this.#classes.set(classId, state);
        // Live, yet nobody was here: the teacher is connected through another process, or (the server restarted
        // mid-class) the teacher's grace period runs from now.
        if (state.status === 'live' && !this.#closed) {
          if (await this.#teacherElsewhere(state)) this.#teacherFoundElsewhere(state);
          else this.#startGrace(state);
        }
      }
      return work(state);
    });
    // A class with nothing queued needs no queue.
    const forget = (): void => {
      if (queue.size === 0 && this.#queues.get(classId) === queue) this.#queues.delete(classId);
    };
    ran.then(forget, forget);
    return ran;
  }

  async #load(classId: string): Promise<ClassState> {
    const [row] = await this.#db.select().from(liveClasses).where(eq(liveClasses.id, classId)).limit(1);
    if (!row) throw new DomainError('not_found', 'No such class');
    return {
      classId,
      teacherId: row.teacherId,
      status: row.status,
      startedAt: row.startedAt,
      endedAt: row.endedAt,
      peakViewers: row.peakViewers,
      totalViewers: row.totalViewers,
      members: new Map(),
      // A live class nobody is in yet (server restart): its teacher counts as away until they return.
      teacher: row.status === 'live' ? 'away' : 'present',
      graceTimer: undefined,
      invited: new Set(),
      onStage: new Set(),
      room: undefined,
      bridge: undefined,
    };
  }

  /**
   * The one place a room opens: on the least-loaded worker, with its HLS bridge carrying the teacher's media. In
   * a cluster it is the class's origin room (claimed for this node) or an edge fed from the origin node (no
   * bridge: the origin's carries the class); `publish` (the teacher is here) makes this node the origin.
   */
  async #openRoom(state: ClassState, publish = false, retry = true): Promise<ClassroomRoom> {
    if (state.room && !state.room.closed) {
      if (!publish || !state.room.fedFrom) return state.room;
      state.room.close();
    }
    const fedFrom = await this.#placement?.originFor(state.classId, publish);
    const room = await this.#rooms.open(state.classId, fedFrom);
    if (room.fedFrom) {
      try {
        await this.#placement!.feed(room);
      } catch (err) {
        room.close();
        this.#log.warn(
          { err, classId: state.classId, origin: room.fedFrom },
          "could not feed this node's room from the class's origin node",
        );
        // Once more: a dead origin's claim is gone by now, or the class moved meanwhile.
        if (retry) return this.#openRoom(state, publish, false);
        throw err instanceof DomainError ? err : new DomainError('unavailable', "The class's media server does not answer; try again");
      }
    }
    const bridge = room.fedFrom
      ? Promise.resolve(undefined)
      : this.#liveHls.attach(room, state.teacherId).catch((err: unknown) => {
          this.#log.error({ err, classId: state.classId }, 'hls bridge failed to start');
          return undefined;
        });
    Object.assign(state, { room, bridge });
    room.once('close', () => {
      if (state.room === room) Object.assign(state, { room: undefined, bridge: undefined });
    });
    return room;
  }

  #statusOf(state: ClassState): ClassStatusPush {
    return {
      classId: state.classId,
      status: state.status,
      teacher: state.teacher,
      startedAt: state.startedAt?.toISOString() ?? null,
      endedAt: state.endedAt?.toISOString() ?? null,
    };
  }

  #studentCount(state: ClassState): number {
    const students = new Set<string>();
    for (const m of state.members.values()) if (m.role === 'student') students.add(m.userId);
    return students.size;
  }

  #presenceOf(state: ClassState): PresencePush {
    const byUser = new Map<string, PresenceViewer>();
    for (const m of state.members.values()) {
      const seen = byUser.get(m.userId);
      // A user with two tabs shows once, with the best way they receive media.
      if (seen && (seen.mode === 'webrtc' || m.mode === 'waiting')) continue;
      byUser.set(m.userId, {
        userId: m.userId,
        displayName: m.displayName,
        role: m.role,
        mode: m.mode,
        onStage: state.onStage.has(m.userId),
      });
    }
    return {
      classId: state.classId,
      viewers: [...byUser.values()].slice(0, 500),
      studentCount: this.#studentCount(state),
      peakViewers: state.peakViewers,
      totalViewers: state.totalViewers,
    };
  }

  #emitPresence(state: ClassState): void {
    this.emit('presence', this.#presenceOf(state));
  }

  async #openAttendance(state: ClassState, present: Presence): Promise<void> {
    if (present.role !== 'student' || present.attendanceId) return;
    const [row] = await this.#db
      .insert(attendance)
      .values({ classId: state.classId, userId: present.userId, mode: present.mode === 'hls' ? 'hls' : 'webrtc' })
      .returning({ id: attendance.id });
    present.attendanceId = row!.id;
    await this.#recorded(state.classId, (roster) => roster.attended(state.classId, present.socketId, row!.id));
    // The class's students through every node when there are several (the peak is the class's, not this node's).
    const count = this.#roster
      ? await this.#roster.studentCount(state.classId).catch(() => this.#studentCount(state))
      : this.#studentCount(state);
    const [stats] = await this.#db
      .update(liveClasses)
      .set({
        peakViewers: sql`greatest(${liveClasses.peakViewers}, ${count})`,
        totalViewers: sql`(select count(distinct ${attendance.userId})::int from ${attendance} where ${attendance.classId} = ${state.classId})`,
      })
      .where(eq(liveClasses.id, state.classId))
      .returning({ peakViewers: liveClasses.peakViewers, totalViewers: liveClasses.totalViewers });
    if (stats) Object.assign(state, stats);
  }

  async #closeAttendance(present: { attendanceId: string | undefined }): Promise<void> {
    const id = present.attendanceId;
    if (!id) return;
    present.attendanceId = undefined;
    await this.#db
      .update(attendance)
      .set({ leftAt: sql`now()`, watchSeconds: sql`greatest(0, floor(extract(epoch from (now() - ${attendance.joinedAt}))))::int` })
      .where(and(eq(attendance.id, id), isNull(attendance.leftAt)));
  }

  #startGrace(state: ClassState, announce = true): void {
    clearTimeout(state.graceTimer);
    state.teacher = 'away';
    if (announce) this.emit('status', this.#statusOf(state));
    const timer = setTimeout(async () => {
      if (state.graceTimer !== timer || state.teacher !== 'away' || state.status !== 'live') return;
      const elsewhere = await this.#teacherElsewhere(state);
      if (state.graceTimer !== timer || state.teacher !== 'away' || state.status !== 'live') return;
      state.graceTimer = undefined;
      if (elsewhere) return this.#teacherFoundElsewhere(state);
      state.teacher = 'interrupted';
      this.#log.warn({ classId: state.classId }, 'teacher did not come back within the grace period: class interrupted');
      this.emit('status', this.#statusOf(state));
      this.#startInterruptedEnd(state);
    }, this.#graceMs);
    state.graceTimer = timer;
    timer.unref();
  }

  #teacherElsewhere(state: ClassState): Promise<boolean> {
    return this.#connectedElsewhere(state.classId, state.teacherId, 'teacher');
  }

  /** Whether the person is in the class through any node, as the roster says (false without one, or on error). */
  async #connectedElsewhere(classId: string, userId: string, role: ClassRole): Promise<boolean> {
    if (!this.#roster) return false;
    return this.#roster.connected(classId, userId, role).catch((err: unknown) => {
      this.#log.warn({ err, classId }, "could not read the class's roster");
      return false;
    });
  }

  /** Records a change in the roster; a failure is logged and this node's own state goes on. */
  async #recorded(classId: string, change: (roster: ClassRoster) => Promise<void>): Promise<void> {
    if (!this.#roster) return;
    await change(this.#roster).catch((err: unknown) =>
      this.#log.warn({ err, classId }, "could not record the change in the class's roster"),
    );
  }

  #teacherFoundElsewhere(state: ClassState): void {
    state.teacher = 'present';
    this.#log.info({ classId: state.classId }, 'the teacher is connected through another server process: the class goes on');
    this.emit('status', this.#statusOf(state));
  }

  /** The class stays interrupted for a while (the teacher may still return), then ends like `end()` would. */
  #startInterruptedEnd(state: ClassState): void {
    const timer = setTimeout(async () => {
      if (state.graceTimer !== timer || this.#closed || state.teacher !== 'interrupted' || state.status !== 'live') return;
      const elsewhere = await this.#teacherElsewhere(state);
      if (state.graceTimer !== timer || this.#closed || state.teacher !== 'interrupted' || state.status !== 'live') return;
      state.graceTimer = undefined;
      if (elsewhere) return this.#teacherFoundElsewhere(state);
      this.#log.warn({ classId: state.classId, minutes: this.#interruptedEndMs / 60_000 }, 'teacher never came back: ending the class');
      this.end(state.classId).catch((err: unknown) =>
        this.#log.error({ err, classId: state.classId }, 'could not end the interrupted class'),
      );
    }, this.#interruptedEndMs);
    state.graceTimer = timer;
    timer.unref();
  }

  #forgetIfIdle(state: ClassState): void {
    if (state.members.size === 0 && !state.graceTimer && state.status !== 'live') this.#classes.delete(state.classId);
  }
}
