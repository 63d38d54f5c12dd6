// Entry of a member into the interaction features: joins the member's own room (the staff room is joined by
// ClassMembership), and answers `interaction:sync` with everything the side panel shows (latest chat page,
// questions, polls with what this viewer may see, the hand queue and the member's own state).
import { Empty, InteractionRequests, type InteractionSnapshot } from '../contracts/interaction.ts';
import { PollBook } from '../interaction/poll-book.ts';
import { QuestionBoard } from '../interaction/question-board.ts';
import type { ClassFeature } from './class-membership.ts';
import { isStaff, MemberHandlers, personRoom, throttle, type InteractionContext } from './interaction-kit.ts';

export function interactionFeature(ctx: InteractionContext): ClassFeature {
  return async (member) => {
    const { socket, classId, user } = member;
    const staff = isStaff(member);
    const rooms = [personRoom(classId, user.id)];
    await socket.join(rooms);

    const handlers = new MemberHandlers(member, ctx.log).on(InteractionRequests.sync, Empty, async (): Promise<InteractionSnapshot> => {
      await throttle(ctx, member, 'sync');
      const { chat, questions, polls, hands, moderation } = ctx.interaction;
      const [page, questionRecords, pollRecords, raised, restrictions, asked, voted, ballots] = await Promise.all([
        chat.page(classId),
        questions.list(classId, { includeDismissed: staff }),
        polls.list(classId),
        hands.list(classId),
        moderation.restrictionsOf(classId, user.id),
        questions.askedBy(classId, user.id),
        questions.votedBy(classId, user.id),
        polls.ballotsOf(classId, user.id),
      ]);
      const pollViews = await Promise.all(pollRecords.map(async (r) => PollBook.view(r, await polls.results(r), { staff })));
      return {
        chat: page,
        questions: questionRecords.map((q) => QuestionBoard.view(q, { staff })),
        polls: pollViews,
        hands: raised,
        me: { id: user.id, muted: restrictions.has('muted'), askedQuestionIds: asked, votedQuestionIds: voted, ballots },
      };
    });

    return async () => {
      handlers.detachAll();
      await Promise.all(rooms.map((room) => socket.leave(room)));
    };
  };
}
