// Raised hands (an ordered queue the teacher works through, lowering one or all) and reactions (a small fixed
// set, flood-controlled, shown briefly on the teacher's screen: sent to the staff room only, never stored).
import { Empty, HandLower, InteractionEvents, InteractionRequests, ReactionSend, type ReactionShown } from '../contracts/interaction.ts';
import type { ClassFeature, ClassMember } from './class-membership.ts';
import {
  assertAllowed,
  MemberHandlers,
  requireModerator,
  requireStudent,
  staffRoom,
  throttle,
  type InteractionContext,
} from './interaction-kit.ts';

export function handsFeature(ctx: InteractionContext): ClassFeature {
  const hands = ctx.interaction.hands;
  const broadcastQueue = async (member: ClassMember) => {
    const queue = await hands.list(member.classId);
    ctx.io.to(member.room).emit(InteractionEvents.handsChanged, { hands: queue });
    return queue;
  };

  return (member) => {
    const { classId, user } = member;
    const handlers = new MemberHandlers(member, ctx.log)
      .on(InteractionRequests.handRaise, Empty, async () => {
        requireStudent(member, 'raise hands');
        await throttle(ctx, member, 'hand');
        await assertAllowed(ctx, member, 'removed');
        await hands.raise(classId, user.id);
        return { hands: await broadcastQueue(member) };
      })
      .on(InteractionRequests.handLower, HandLower, async (payload) => {
        const target = payload?.userId ?? user.id;
        if (target !== user.id) requireModerator(member, "lower someone else's hand");
        const lowered = await hands.lower(classId, target);
        return { lowered, hands: lowered ? await broadcastQueue(member) : await hands.list(classId) };
      })
      .on(InteractionRequests.handLowerAll, Empty, async () => {
        requireModerator(member, 'lower all hands');
        const lowered = await hands.lowerAll(classId);
        return { lowered, hands: await broadcastQueue(member) };
      })
      .on(InteractionRequests.reactionSend, ReactionSend, async ({ reaction }) => {
        await throttle(ctx, member, 'reaction');
        const shown: ReactionShown = { reaction, from: user.displayName, at: new Date().toISOString() };
        ctx.io.to(staffRoom(classId)).emit(InteractionEvents.reactionShown, shown);
        return shown;
      });
    return () => handlers.detachAll();
  };
}
