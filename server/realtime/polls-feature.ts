// Polls and quizzes: the teacher creates, closes (a quiz reveals its answer) and chooses whether students see
// the results; students vote once (or change while open when the poll allows). Live results go to the staff
// room on every ballot, and to everyone when the teacher shows them.
import {
  InteractionEvents,
  InteractionRequests,
  PollCreate,
  PollRef,
  PollShowResults,
  PollVote,
  type Poll,
} from '../contracts/interaction.ts';
import { PollBook, type PollRecord } from '../interaction/poll-book.ts';
import type { ClassFeature, ClassMember } from './class-membership.ts';
import {
  assertAllowed,
  emitByRole,
  MemberHandlers,
  requireModerator,
  requireStudent,
  staffRoom,
  throttle,
  type InteractionContext,
} from './interaction-kit.ts';

export function pollsFeature(ctx: InteractionContext): ClassFeature {
  const book = ctx.interaction.polls;
  const publish = async (member: ClassMember, record: PollRecord): Promise<Poll> => {
    const results = await book.results(record);
    const staffView = PollBook.view(record, results, { staff: true });
    emitByRole(ctx, member, InteractionEvents.pollUpdated, staffView, PollBook.view(record, results, { staff: false }));
    return staffView;
  };

  return (member) => {
    const { classId, user } = member;
    const handlers = new MemberHandlers(member, ctx.log)
      .on(InteractionRequests.pollCreate, PollCreate, async (input) => {
        requireModerator(member, 'create polls');
        await throttle(ctx, member, 'poll');
        return publish(member, await book.create(classId, user.id, input));
      })
      .on(InteractionRequests.pollVote, PollVote, async ({ pollId, optionIds }) => {
        requireStudent(member, 'vote in polls');
        await throttle(ctx, member, 'vote');
        await assertAllowed(ctx, member, 'removed');
        const { record, changed } = await book.vote(classId, pollId, user.id, optionIds);
        ctx.tally.vote('poll');
        const results = await book.results(record);
        const to = record.poll.showResults ? ctx.io.to(member.room) : ctx.io.to(staffRoom(classId));
        to.emit(InteractionEvents.pollResults, results);
        return { pollId, optionIds, changed };
      })
      .on(InteractionRequests.pollClose, PollRef, async ({ pollId }) => {
        requireModerator(member, 'close polls');
        return publish(member, await book.close(classId, pollId));
      })
      .on(InteractionRequests.pollShowResults, PollShowResults, async ({ pollId, show }) => {
        requireModerator(member, 'show poll results');
        return publish(member, await book.setShowResults(classId, pollId, show));
      });
    return () => handlers.detachAll();
  };
}
