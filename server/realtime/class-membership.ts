// Joining a class over Socket.io. `class:join` checks the permission on the server, puts the socket in the
// class's room and attaches every class feature (SFU signalling, chat, Q&A, polls, hands, presence) to it.
// Leaving (`class:leave`, joining another class, or disconnecting) runs each feature's cleanup: the member
// owns what its features created for it.
import { ClassJoin, MAX_SOCKETS_PER_PERSON, NoPayload, type ClassJoined } from '../contracts/realtime.ts';
import type { ClassRole } from '../contracts/live-class.ts';
import type { SessionUser } from '../auth/session-store.ts';
import { canModerate, type Permissions } from '../auth/permissions.ts';
import type { LiveClass } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import type { LecternIo, LecternSocket } from './socket-server.ts';
import { AwaitQueue } from 'awaitqueue';
import { DomainError } from '../domain-error.ts';
import { onRequest } from './requests.ts';

export interface ClassMember {
  readonly classId: string;
  readonly role: ClassRole;
  readonly user: SessionUser;
  readonly socket: LecternSocket;
  readonly liveClass: LiveClass;
  /** Socket.io room of the class: io.to(member.room) reaches everyone in it (across processes with Redis). */
  readonly room: string;
}

/** A class feature attaches its event handlers for one member and returns what undoes them. */
export type ClassFeature = (member: ClassMember) => void | (() => void | Promise<void>) | Promise<void | (() => void | Promise<void>)>;

/**
 * Runs before a permitted user enters the class; throwing a DomainError keeps them out (e.g. a student the
 * teacher removed from this class).
 */
export type ClassAdmission = (user: SessionUser, classId: string, role: ClassRole) => void | Promise<void>;

export function classRoom(classId: string): string {
  return `class:${classId}`;
}

/** Teacher and admins of a class: what only they may see (viewer list, anonymous askers, live results). */
export function staffRoom(classId: string): string {
  return `class:${classId}:staff`;
}

export class ClassMembership {
  readonly #io: LecternIo;
  readonly #permissions: Pick<Permissions, 'classEntry'>;
  readonly #log: Logger;
  readonly #features: ClassFeature[] = [];
  readonly #admissions: ClassAdmission[] = [];
  /** `classId:userId` -> the ids of that person's sockets in that class (in this process). */
  readonly #seats = new Map<string, Set<string>>();
  /** Socket id -> what makes that socket leave its class (queued behind its joins and leaves). */
  readonly #connections = new Map<string, () => Promise<void>>();
  #closed = false;

  constructor(io: LecternIo, options: { permissions: Pick<Permissions, 'classEntry'>; log: Logger }) {
    this.#io = io;
    this.#permissions = options.permissions;
    this.#log = options.log;
    io.on('connection', (socket) => this.#onConnection(socket));
  }

  get io(): LecternIo {
    return this.#io;
  }

  /** Adds a feature; it applies to members who join from now on. */
  use(feature: ClassFeature): void {
    this.#features.push(feature);
  }

  /** Adds a check every join must pass (after the permission check, before anything is attached). */
  admit(check: ClassAdmission): void {
    this.#admissions.push(check);
  }

  #onConnection(socket: LecternSocket): void {
    const log = this.#log.child({ userId: socket.data.user?.id });
    let current: { member: ClassMember; cleanups: (() => void | Promise<void>)[] } | undefined;
    // Joins and leaves of one socket run one at a time, in the order they arrived: two joins sent at once, or a
    // disconnect while a join is attaching features, would otherwise leave handlers or presence behind that no
    // cleanup ever reaches.
    const queue = new AwaitQueue();
    const serially = <T>(step: () => Promise<T>): Promise<T> => queue.push(step);

    const leave = async (): Promise<void> => {
      const left = current;
      current = undefined;
      if (!left) return;
      this.#freeSeat(left.member, socket.id);
      await socket.leave(left.member.room);
      await socket.leave(staffRoom(left.member.classId));
      for (const cleanup of left.cleanups.reverse()) {
        try {
          await cleanup();
        } catch (err) {
          log.error({ err, classId: left.member.classId }, 'class feature cleanup failed');
        }
      }
    };

    const join = async (classId: string): Promise<ClassJoined> => {
      if (this.#closed) throw new DomainError('gone', 'The server is shutting down');
      const user = socket.data.user;
      const access = await this.#permissions.classEntry(user, classId);
      if (!access.ok) {
        if (access.reason === 'removed') throw new DomainError('removed', 'The teacher removed you from this class');
        throw new DomainError('forbidden', 'You are not enrolled in this class');
      }
      if (access.liveClass.status === 'cancelled') throw new DomainError('cancelled', 'This class was cancelled');
      for (const check of this.#admissions) await check(user, classId, access.role);
      await leave();
      // Gone while we checked: attach nothing (the disconnect's leave already ran, or runs after us and finds nothing).
      if (socket.disconnected) throw new DomainError('gone', 'The connection closed');
      // Checked and taken with no await in between, so two tabs joining at once cannot both take the last seat.
      if ((this.#seats.get(`${classId}:${user.id}`)?.size ?? 0) >= MAX_SOCKETS_PER_PERSON) {
        throw new DomainError(
          'too_many_tabs',
          `You are in this class from ${MAX_SOCKETS_PER_PERSON} tabs already; close one to join from here`,
        );
      }
      const member: ClassMember = { classId, role: access.role, user, socket, liveClass: access.liveClass, room: classRoom(classId) };
      const cleanups: (() => void | Promise<void>)[] = [];
      current = { member, cleanups };
      this.#takeSeat(member, socket.id);
      try {
        await socket.join(canModerate(access.role) ? [member.room, staffRoom(classId)] : member.room);
        for (const feature of this.#features) {
          const cleanup = await feature(member);
          if (cleanup) cleanups.push(cleanup);
        }
      } catch (err) {
        await leave(); // undo the features attached so far: a failed join leaves nothing half-attached
        throw err;
      }
      return {
        classId,
        role: access.role,
        title: access.liveClass.title,
        status: access.liveClass.status,
        user: { id: user.id, displayName: user.displayName, role: user.role },
      };
    };

    onRequest(socket, 'class:join', ClassJoin, ({ classId }) => serially(() => join(classId)), log);
    onRequest(socket, 'class:leave', NoPayload, () => serially(leave).then(() => ({ left: true as const })), log);
    this.#connections.set(socket.id, () => serially(leave));
    socket.on('disconnect', () => {
      void serially(leave).finally(() => this.#connections.delete(socket.id));
    });
  }

  /**
   * Server shutdown: joins are refused and every member leaves its class (each feature's cleanup runs: the
   * media peer closes, presence leaves the live class and closes the attendance row). Resolves when all is done.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#connections.values()].map((leave) => leave()));
  }

  #takeSeat(member: ClassMember, socketId: string): void {
    const key = `${member.classId}:${member.user.id}`;
    let seats = this.#seats.get(key);
    if (!seats) this.#seats.set(key, (seats = new Set()));
    seats.add(socketId);
  }

  #freeSeat(member: ClassMember, socketId: string): void {
    const key = `${member.classId}:${member.user.id}`;
    const seats = this.#seats.get(key);
    if (!seats) return;
    seats.delete(socketId);
    if (seats.size === 0) this.#seats.delete(key);
  }
}
