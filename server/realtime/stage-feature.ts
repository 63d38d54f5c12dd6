// The stage, as a class feature: the teacher invites a student and may take them off; the student accepts (then
// publishes camera and mic) or declines, and may leave. The live class keeps who is on stage and closes what a
// student publishes when they leave it (classes/live-class-lifecycle.ts); `stage:update` tells everyone.
import { canModerate } from '../auth/permissions.ts';
import type { LiveClassLifecycle } from '../classes/live-class-lifecycle.ts';
import { StageAnswer, StageRef } from '../contracts/live-class.ts';
import { NoPayload } from '../contracts/realtime.ts';
import { DomainError } from '../domain-error.ts';
import type { Logger } from '../log.ts';
import type { ClassFeature } from './class-membership.ts';
import { MemberHandlers } from './requests.ts';

type Stage = Pick<LiveClassLifecycle, 'invite' | 'removeFromStage' | 'answerInvite'>;

export function stageFeature({ liveClasses, log }: { liveClasses: Stage; log: Logger }): ClassFeature {
  return (member) => {
    const { classId, role, user } = member;
    const handlers = new MemberHandlers(member, log)
      .on('stage:invite', StageRef, async ({ userId }) => {
        if (!canModerate(role)) throw new DomainError('forbidden', 'Only the teacher can invite on stage');
        await liveClasses.invite(classId, userId);
        return { invited: true as const };
      })
      .on('stage:remove', StageRef, async ({ userId }) => {
        if (!canModerate(role)) throw new DomainError('forbidden', 'Only the teacher can remove someone from the stage');
        await liveClasses.removeFromStage(classId, userId);
        return { removed: true as const };
      })
      .on('stage:answer', StageAnswer, async ({ accept }) => ({ onStage: await liveClasses.answerInvite(classId, user.id, accept) }))
      .on('stage:leave', NoPayload, async () => {
        await liveClasses.removeFromStage(classId, user.id);
        return { onStage: false as const };
      });
    return () => handlers.detachAll();
  };
}
