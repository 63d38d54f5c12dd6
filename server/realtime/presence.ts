// Presence as a class feature: a member entering or leaving is told to the lifecycle (attendance, viewer
// counts, teacher grace period); the lifecycle's changes are broadcast to the class room. Presence is
// throttled per class so a hundred students joining at once send a handful of updates, not ten thousand,
// and only the staff get the viewer list: students get the counts, so a big class costs O(n), not O(n^2).
// With several server processes (`clusterWide`) each process knows only its own members: what it broadcasts is
// derived from every socket in the class room on every process (fetchSockets over the Redis adapter, reading
// each socket's `inClass`), so every node tells the same list and counts.
import type { ClassStatusPush, PresencePush, PresenceViewer, StageUpdatePush } from '../contracts/live-class.ts';
import type { Logger } from '../log.ts';
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

/** Whether `userId` is in the class as a student through any server process (fetchSockets asks every process). */
export async function studentConnected(io: LecternIo, classId: string, userId: string): Promise<boolean> {
  const sockets = await io.in(classRoom(classId)).fetchSockets();
  return sockets.some((s) => s.data.user?.id === userId && s.data.inClass?.classId === classId && s.data.inClass.role === 'student');
}

/** Owns the presence broadcasts of every class; close() stops them before the Socket.io server goes away. */
export class ClassPresence {
  readonly feature: ClassFeature;
  readonly #close: () => void;

  constructor(io: LecternIo, liveClasses: LiveClassLifecycle, options: { clusterWide: boolean; log: Logger }) {
    const throttles = new Map<string, { timer: NodeJS.Timeout; pending: PresencePush | undefined }>();
    let closed = false;
    const acrossNodes = async (push: PresencePush): Promise<PresencePush> => {
      const sockets = await io.in(classRoom(push.classId)).fetchSockets();
      const stage = new Set(liveClasses.stage(push.classId).userIds);
      const byUser = new Map<string, PresenceViewer>();
      for (const { data } of sockets) {
        const here = data.inClass;
        if (!here || here.classId !== push.classId || !data.user) continue;
        const seen = byUser.get(data.user.id);
        // A user with two tabs shows once, with the best way they receive media (as the live class counts them).
        if (seen && (seen.mode === 'webrtc' || here.mode === 'waiting')) continue;
        const { id: userId, displayName } = data.user;
        byUser.set(userId, { userId, displayName, role: here.role, mode: here.mode, onStage: stage.has(userId) });
      }
      const viewers = [...byUser.values()];
      const studentCount = viewers.filter((v) => v.role === 'student').length;
      return { ...push, viewers: viewers.slice(0, 500), studentCount, peakViewers: Math.max(push.peakViewers, studentCount) };
    };
    const broadcast = (local: PresencePush): void => {
      if (closed) return;
      if (!options.clusterWide) return send(local);
      acrossNodes(local).then(
        (push) => !closed && send(push),
        (err: unknown) => options.log.warn({ err, classId: local.classId }, 'could not gather the presence of the other nodes'),
      );
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
      socket.data.inClass = { classId, role, mode: 'waiting' };
      const status = await liveClasses.enter(classId, { socketId: socket.id, userId: user.id, displayName: user.displayName, role });
      socket.emit('class:status', status);
      socket.emit('stage:update', liveClasses.stage(classId));
      // Across nodes, the broadcast that entering set off tells this member too.
      const presence = options.clusterWide ? undefined : liveClasses.presence(classId);
      if (presence) socket.emit('presence:update', canModerate(role) ? presence : { ...presence, viewers: [] });
      return () => {
        if (socket.data.inClass?.classId === classId) delete socket.data.inClass;
        return liveClasses.leave(classId, socket.id);
      };
    };
  }

  close(): void {
    this.#close();
  }
}
