// Joining a class over Socket.io. `class:join` checks the permission on the server, puts the socket in the
// class's room and attaches every class feature (SFU signalling, chat, Q&A, polls, hands, presence) to it.
// Leaving (`class:leave`, joining another class, or disconnecting) runs each feature's cleanup: the member
// owns what its features created for it.
import type { Socket } from 'socket.io';
import { z } from 'zod';
import { ClassJoin, type ClassJoined, type ClassRole } from '../contracts/realtime.ts';
import type { SessionUser } from '../auth/session-store.ts';
import { canModerate } from '../auth/permissions.ts';
import type { LiveClass } from '../db/schema.ts';
import type { Services } from '../services.ts';
import type { LecternIo } from './socket-server.ts';
import { onRequest, RealtimeError } from './requests.ts';

export interface ClassMember {
  readonly classId: string;
  readonly role: ClassRole;
  readonly user: SessionUser;
  readonly socket: Socket;
  readonly liveClass: LiveClass;
  /** Socket.io room of the class: io.to(member.room) reaches everyone in it (across processes with Redis). */
  readonly room: string;
}

/** A class feature attaches its event handlers for one member and returns what undoes them. */
export type ClassFeature = (member: ClassMember) => void | (() => void | Promise<void>) | Promise<void | (() => void | Promise<void>)>;

/**
 * Runs before a permitted user enters the class; throwing a RealtimeError keeps them out (e.g. a student the
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
  readonly #services: Services;
  readonly #features: ClassFeature[] = [];
  readonly #admissions: ClassAdmission[] = [];

  constructor(io: LecternIo, services: Services) {
    this.#io = io;
    this.#services = services;
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

  #onConnection(socket: Socket): void {
    const log = this.#services.log.child({ module: 'realtime', userId: socket.data.user?.id });
    let current: { member: ClassMember; cleanups: (() => void | Promise<void>)[] } | undefined;

    const leave = async (): Promise<void> => {
      const left = current;
      current = undefined;
      if (!left) return;
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

    onRequest(
      socket,
      'class:join',
      ClassJoin,
      async ({ classId }): Promise<ClassJoined> => {
        const user = socket.data.user;
        const access = await this.#services.permissions.classRole(user, classId);
        if (!access) throw new RealtimeError('forbidden', 'You are not enrolled in this class');
        if (access.liveClass.status === 'cancelled') throw new RealtimeError('cancelled', 'This class was cancelled');
        for (const check of this.#admissions) await check(user, classId, access.role);
        await leave();
        const member: ClassMember = { classId, role: access.role, user, socket, liveClass: access.liveClass, room: classRoom(classId) };
        const cleanups: (() => void | Promise<void>)[] = [];
        current = { member, cleanups };
        await socket.join(canModerate(access.role) ? [member.room, staffRoom(classId)] : member.room);
        for (const feature of this.#features) {
          const cleanup = await feature(member);
          if (cleanup) cleanups.push(cleanup);
        }
        return {
          classId,
          role: access.role,
          title: access.liveClass.title,
          status: access.liveClass.status,
          user: { id: user.id, displayName: user.displayName, role: user.role },
        };
      },
      log,
    );
    onRequest(socket, 'class:leave', z.object({}).optional(), () => leave().then(() => ({ left: true })), log);
    socket.on('disconnect', () => void leave());
  }
}
