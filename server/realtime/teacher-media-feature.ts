// Tells a class whether the teacher's media reaches the media server: every change goes to the class room as
// `sfu:teacherMedia`, and a member who joins gets the current state at once.
import type { TeacherMediaFlow } from '../sfu/teacher-media-flow.ts';
import type { TeacherMediaPush } from '../contracts/sfu.ts';
import { classRoom, type ClassFeature } from './class-membership.ts';
import type { LecternIo } from './socket-server.ts';

export class TeacherMediaFeature {
  readonly feature: ClassFeature;
  readonly #flow: TeacherMediaFlow;
  readonly #send: (push: TeacherMediaPush) => void;

  constructor(io: LecternIo, flow: TeacherMediaFlow) {
    this.#flow = flow;
    this.#send = (push) => void io.to(classRoom(push.classId)).emit('sfu:teacherMedia', push);
    flow.on('change', this.#send);
    this.feature = ({ socket, classId }) => {
      const now = flow.current(classId);
      if (now) socket.emit('sfu:teacherMedia', now);
    };
  }

  close(): void {
    this.#flow.off('change', this.#send);
  }
}
