// Presence as a class feature: a member entering or leaving is told to the lifecycle (attendance, viewer
// counts, teacher grace period); the lifecycle's changes are broadcast to the class room. Presence is
// throttled per class so a hundred students joining at once send a handful of updates, not ten thousand,
// and only the staff get the viewer list: students get the counts, so a big class costs O(n), not O(n^2).
// With several server processes (a `roster`) each process knows only its own members: what it broadcasts is read
// from the class's roster in Redis (cluster/presence-store.ts), where every node records its members, so every
// node tells the same list and counts; one read per push, of the staff and students up to the list's cap.
import type { ClassStatusPush, PresencePush, StageUpdatePush } from '../contracts/live-class.ts';
import type { Logger } from '../log.ts';
import type { LiveClassLifecycle } from '../classes/live-class-lifecycle.ts';
import type { PresenceStore } from '../cluster/presence-store.ts';
import { canModerate } from '../auth/permissions.ts';
import { classRoom, staffRoom, type ClassFeature } from './class-membership.ts';
import type { LecternIo } from './socket-server.ts';

const PRESENCE_INTERVAL_MS = 500;
/** The most viewers a push lists (the staff's list; the counts cover everyone). */
const MAX_LISTED = 500;

/** Owns the presence broadcasts of every class; close() stops them before the Socket.io server goes away. */
export class ClassPresence {
  readonly feature: ClassFeature;
  readonly #close: () => void;

  constructor(
    io: LecternIo,
    liveClasses: LiveClassLifecycle,
    options: { roster?: Pick<PresenceStore, 'snapshot'> | undefined; log: Logger },
  ) {
    const throttles = new Map<string, { timer: NodeJS.Timeout; pending: PresencePush | undefined }>();
    /** Per class, the roster read in flight: pushes go out in the order they were read. */
    const reads = new Map<string, Promise<void>>();
    let closed = false;
    const { roster } = options;
    const classWide = async (push: PresencePush, from: Pick<PresenceStore, 'snapshot'>): Promise<PresencePush> => {
      const { viewers, studentCount } = await from.snapshot(push.classId, MAX_LISTED);
      const stage = new Set(liveClasses.stage(push.classId).userIds);
      return {
        ...push,
        viewers: viewers.map((v) => ({ ...v, onStage: stage.has(v.userId) })),
        studentCount,
        peakViewers: Math.max(push.peakViewers, studentCount),
      };
    };
    const broadcast = (local: PresencePush): void => {
      if (closed) return;
      if (!roster) return send(local);
      const { classId } = local;
      const read = (reads.get(classId) ?? Promise.resolve())
        .then(() => classWide(local, roster))
        .then(
          (push) => void (!closed && send(push)),
          (err: unknown) => options.log.warn({ err, classId }, "could not read the class's presence"),
        )
        .finally(() => {
          if (reads.get(classId) === read) reads.delete(classId);
        });
      reads.set(classId, read);
    };
    const send = (push: PresencePush): void => {
      const staff = staffRoom(push.classId);
      io.to(staff).emit('presence:update', push);
      io.to(classRoom(push.classId))
        .except(staff)
        .emit('presence:update', { ...push, viewers: [] });
    };

    const sendPresence = (push: PresencePush): void => {
      const throttle = throttles.get(push.classId);
      if (throttle) {
        throttle.pending = push;
        return;
      }
      broadcast(push);
      const entry = {
        pending: undefined as PresencePush | undefined,
        timer: setInterval(() => {
          if (!entry.pending) {
            clearInterval(entry.timer);
            throttles.delete(push.classId);
            return;
          }
          broadcast(entry.pending);
          entry.pending = undefined;
        }, PRESENCE_INTERVAL_MS),
      };
      entry.timer.unref();
      throttles.set(push.classId, entry);
    };
    const sendStatus = (status: ClassStatusPush): void => {
      if (!closed) io.to(classRoom(status.classId)).emit('class:status', status);
    };
    const sendStage = (stage: StageUpdatePush): void => {
      if (!closed) io.to(classRoom(stage.classId)).emit('stage:update', stage);
    };

    liveClasses.on('presence', sendPresence);
    liveClasses.on('status', sendStatus);
    liveClasses.on('stage', sendStage);

    this.#close = () => {
      closed = true;
      liveClasses.off('presence', sendPresence);
      liveClasses.off('status', sendStatus);
      liveClasses.off('stage', sendStage);
      for (const { timer } of throttles.values()) clearInterval(timer);
      throttles.clear();
    };

    this.feature = async (member) => {
      const { socket, classId, user, role } = member;
      const status = await liveClasses.enter(classId, { socketId: socket.id, userId: user.id, displayName: user.displayName, role });
      socket.emit('class:status', status);
      socket.emit('stage:update', liveClasses.stage(classId));
      // Across nodes, the broadcast that entering set off tells this member too.
      const presence = roster ? undefined : liveClasses.presence(classId);
      if (presence) socket.emit('presence:update', canModerate(role) ? presence : { ...presence, viewers: [] });
      return () => liveClasses.leave(classId, socket.id);
    };
  }

  close(): void {
    this.#close();
  }
}
