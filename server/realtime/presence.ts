// Presence as a class feature: a member entering or leaving is told to the lifecycle (attendance, viewer
// counts, teacher grace period); the lifecycle's changes are broadcast to the class room. Presence is
// throttled per class so a hundred students joining at once send a handful of updates, not ten thousand,
// and only the staff get the viewer list: students get the counts, so a big class costs O(n), not O(n^2).
import type { ClassStatusPush, PresencePush, StageUpdatePush } from '../contracts/live-class.ts';
import type { LiveClassLifecycle } from '../classes/live-class-lifecycle.ts';
import { canModerate } from '../auth/permissions.ts';
import { classRoom, staffRoom, type ClassFeature } from './class-membership.ts';
import type { LecternIo } from './socket-server.ts';

const PRESENCE_INTERVAL_MS = 500;

/**
 * Whether `teacherId` has a socket in the class's staff room through any server process (with the Redis
 * adapter, fetchSockets asks every process).
 */
export async function teacherConnected(io: LecternIo, classId: string, teacherId: string): Promise<boolean> {
  const staff = await io.in(staffRoom(classId)).fetchSockets();
  return staff.some((s) => s.data.user?.id === teacherId);
}

/** Owns the presence broadcasts of every class; close() stops them before the Socket.io server goes away. */
export class ClassPresence {
  readonly feature: ClassFeature;
  readonly #close: () => void;

  constructor(io: LecternIo, liveClasses: LiveClassLifecycle) {
    const throttles = new Map<string, { timer: NodeJS.Timeout; pending: PresencePush | undefined }>();
    let closed = false;
    const broadcast = (push: PresencePush): void => {
      if (closed) return;
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
      const presence = liveClasses.presence(classId);
      if (presence) socket.emit('presence:update', canModerate(role) ? presence : { ...presence, viewers: [] });
      return () => liveClasses.leave(classId, socket.id);
    };
  }

  close(): void {
    this.#close();
  }
}
