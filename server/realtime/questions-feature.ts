// Q&A: students ask (optionally anonymous to the other students) and everyone upvotes once; the teacher
// marks answered, reopens, pins one and dismisses. Each change is sent as the staff view to the staff room
// and as the student view (anonymous authors hidden) to everyone else.
import { InteractionEvents, InteractionRequests, QuestionAsk, QuestionPin, QuestionRef, type Question } from '../contracts/interaction.ts';
import { QuestionBoard, type QuestionRecord } from '../interaction/question-board.ts';
import type { ClassFeature, ClassMember } from './class-membership.ts';
import {
  assertAllowed,
  emitByRole,
  isStaff,
  MemberHandlers,
  requireModerator,
  staffRoom,
  throttle,
  type InteractionContext,
} from './interaction-kit.ts';

export function questionsFeature(ctx: InteractionContext): ClassFeature {
  const publish = (member: ClassMember, q: QuestionRecord): void => {
    if (q.status === 'dismissed') {
      ctx.io.to(staffRoom(member.classId)).emit(InteractionEvents.questionUpdated, QuestionBoard.view(q, { staff: true }));
      ctx.io.to(member.room).except(staffRoom(member.classId)).emit(InteractionEvents.questionRemoved, { questionId: q.id });
      return;
    }
    emitByRole(
      ctx,
      member,
      InteractionEvents.questionUpdated,
      QuestionBoard.view(q, { staff: true }),
      QuestionBoard.view(q, { staff: false }),
    );
  };

  return (member) => {
    const { classId, user } = member;
    const board = ctx.interaction.questions;
    // The asker always sees their own name; others see what their role allows.
    const answer = (q: QuestionRecord): Question => QuestionBoard.view(q, { staff: isStaff(member) || q.userId === user.id });
    const moderate =
      (what: string, change: (questionId: string) => Promise<QuestionRecord>) =>
      async ({ questionId }: { questionId: string }) => {
        requireModerator(member, what);
        const q = await change(questionId);
        publish(member, q);
        return answer(q);
      };

    const handlers = new MemberHandlers(member, ctx.log)
      .on(InteractionRequests.questionAsk, QuestionAsk, async ({ body, anonymous }) => {
        await throttle(ctx, member, 'question');
        await assertAllowed(ctx, member, 'muted');
        const q = await board.ask(classId, user.id, body, anonymous);
        ctx.tally.question();
        publish(member, q);
        return answer(q);
      })
      .on(InteractionRequests.questionVote, QuestionRef, async ({ questionId }) => {
        await throttle(ctx, member, 'vote');
        await assertAllowed(ctx, member, 'removed');
        const q = await board.vote(classId, questionId, user.id);
        ctx.tally.vote('question');
        publish(member, q);
        return answer(q);
      })
      .on(InteractionRequests.questionUnvote, QuestionRef, async ({ questionId }) => {
        await throttle(ctx, member, 'vote');
        await assertAllowed(ctx, member, 'removed');
        const q = await board.unvote(classId, questionId, user.id);
        publish(member, q);
        return answer(q);
      })
      .on(
        InteractionRequests.questionAnswer,
        QuestionRef,
        moderate('mark questions answered', (id) => board.setStatus(classId, id, 'answered')),
      )
      .on(
        InteractionRequests.questionReopen,
        QuestionRef,
        moderate('reopen questions', (id) => board.setStatus(classId, id, 'open')),
      )
      .on(
        InteractionRequests.questionDismiss,
        QuestionRef,
        moderate('dismiss questions', (id) => board.setStatus(classId, id, 'dismissed')),
      )
      .on(InteractionRequests.questionPin, QuestionPin, async ({ questionId, pinned }) => {
        requireModerator(member, 'pin questions');
        const { question, unpinned } = await board.pin(classId, questionId, pinned);
        if (unpinned) publish(member, unpinned);
        publish(member, question);
        return answer(question);
      });
    return () => handlers.detachAll();
  };
}
