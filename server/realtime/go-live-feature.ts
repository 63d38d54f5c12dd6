// Going live and ending a class, as a class feature: only the class's teacher goes live; the teacher or an admin
// may end it. The live class does the work (classes/live-class-lifecycle.ts); its status reaches every member
// as `class:status` (presence.ts).
import { canModerate } from '../auth/permissions.ts';
import type { LiveClassLifecycle } from '../classes/live-class-lifecycle.ts';
import { NoPayload } from '../contracts/realtime.ts';
import { DomainError } from '../domain-error.ts';
import type { Logger } from '../log.ts';
import type { ClassFeature } from './class-membership.ts';
import { MemberHandlers } from './requests.ts';

export function goLiveFeature({
  liveClasses,
  log,
}: {
  liveClasses: Pick<LiveClassLifecycle, 'goLive' | 'end'>;
  log: Logger;
}): ClassFeature {
  return (member) => {
    const { classId, role } = member;
    const handlers = new MemberHandlers(member, log)
      .on('class:goLive', NoPayload, () => {
        if (role !== 'teacher') throw new DomainError('forbidden', "Only the class's teacher can go live");
        return liveClasses.goLive(classId);
      })
      .on('class:end', NoPayload, () => {
        if (!canModerate(role)) throw new DomainError('forbidden', 'Only the teacher can end the class');
        return liveClasses.end(classId);
      });
    return () => handlers.detachAll();
  };
}
