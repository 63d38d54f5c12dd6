// Class chat: send (flood-controlled, refused while muted), older pages on scroll, deletion by the teacher.
// New messages reach the class through the ChatFanOut (coalesced when the chat is busy); the sender's ack
// carries their own message at once.
import {
  ChatDelete,
  ChatHistory,
  ChatSend,
  InteractionEvents,
  InteractionRequests,
  type ChatMessage,
  type ChatPage,
} from '../contracts/interaction.ts';
import type { ChatFanOut } from './chat-fan-out.ts';
import type { ClassFeature } from './class-membership.ts';
import { assertAllowed, MemberHandlers, requireModerator, throttle, type InteractionContext } from './interaction-kit.ts';

export function chatFeature(ctx: InteractionContext, fanOut: ChatFanOut): ClassFeature {
  return (member) => {
    const { classId, user } = member;
    fanOut.enter(classId);
    const handlers = new MemberHandlers(member, ctx.log)
      .on(InteractionRequests.chatSend, ChatSend, async ({ body }): Promise<ChatMessage> => {
        await throttle(ctx, member, 'chat');
        await assertAllowed(ctx, member, 'muted');
        const message = await ctx.interaction.chat.post(classId, { id: user.id, displayName: user.displayName, role: member.role }, body);
        fanOut.send(classId, message);
        ctx.tally.chatMessage();
        return message;
      })
      .on(InteractionRequests.chatHistory, ChatHistory, async ({ before, limit }): Promise<ChatPage> => {
        await throttle(ctx, member, 'history');
        return ctx.interaction.chat.page(classId, { before, limit });
      })
      .on(InteractionRequests.chatDelete, ChatDelete, async ({ messageId }) => {
        requireModerator(member, 'delete messages');
        const deleted = await ctx.interaction.chat.delete(classId, messageId, user.id);
        if (deleted) {
          fanOut.flush(classId); // the message may still be collecting: its members get it before its deletion
          ctx.io.to(member.room).emit(InteractionEvents.chatDeleted, { messageId });
          await ctx.audit.record({ actorId: user.id, action: 'class.chat_deleted', classId, detail: { messageId } });
        }
        return { messageId, deleted };
      });
    return () => {
      handlers.detachAll();
      fanOut.leave(classId);
    };
  };
}
