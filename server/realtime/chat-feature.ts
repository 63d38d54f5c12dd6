// Class chat: send (flood-controlled, refused while muted), older pages on scroll, deletion by the teacher.
import { ChatDelete, ChatHistory, ChatSend, InteractionEvents, InteractionRequests, type ChatMessage, type ChatPage } from '../contracts/interaction.ts';
import type { ClassFeature } from './class-membership.ts';
import { assertAllowed, MemberHandlers, requireModerator, throttle, type InteractionContext } from './interaction-kit.ts';

export function chatFeature(ctx: InteractionContext): ClassFeature {
  return (member) => {
    const { classId, user } = member;
    const handlers = new MemberHandlers(member, ctx.log)
      .on(InteractionRequests.chatSend, ChatSend, async ({ body }): Promise<ChatMessage> => {
        throttle(ctx, member, 'chat');
        await assertAllowed(ctx, member, 'muted');
        const message = await ctx.interaction.chat.post(classId, { id: user.id, displayName: user.displayName, role: member.role }, body);
        ctx.io.to(member.room).emit(InteractionEvents.chatMessage, message);
        return message;
      })
      .on(InteractionRequests.chatHistory, ChatHistory, ({ before, limit }): Promise<ChatPage> => {
        throttle(ctx, member, 'history');
        return ctx.interaction.chat.page(classId, { before, limit });
      })
      .on(InteractionRequests.chatDelete, ChatDelete, async ({ messageId }) => {
        requireModerator(member, 'delete messages');
        const deleted = await ctx.interaction.chat.delete(classId, messageId, user.id);
        if (deleted) ctx.io.to(member.room).emit(InteractionEvents.chatDeleted, { messageId });
        return { messageId, deleted };
      });
    return () => handlers.detachAll();
  };
}
