// Moderation by the class's teacher (or an admin): mute or unmute a student, remove a student. A removal is
// stored (Permissions.classEntry then keeps the student out of the class, its broadcast and its replays), then
// every socket of that student in this class is told and disconnected, on whichever server process holds it
// (remote socket API).
import { InteractionEvents, InteractionRequests, MuteSet, StudentRef } from '../contracts/interaction.ts';
import type { ClassFeature } from './class-membership.ts';
import { MemberHandlers, personRoom, requireModerator, staffRoom, type InteractionContext } from './interaction-kit.ts';

export function moderationFeature(ctx: InteractionContext): ClassFeature {
  const { moderation, hands } = ctx.interaction;
  return (member) => {
    const { classId, user } = member;
    const handlers = new MemberHandlers(member, ctx.log)
      .on(InteractionRequests.moderationMute, MuteSet, async ({ userId, muted }) => {
        requireModerator(member, 'mute students');
        const changed = await moderation.setMuted(classId, userId, muted, user.id);
        const notice = { userId, muted };
        ctx.io.to([staffRoom(classId), personRoom(classId, userId)]).emit(InteractionEvents.moderationMuted, notice);
        ctx.log.info({ classId, userId, muted, by: user.id }, 'student mute changed');
        if (changed)
          await ctx.audit.record({
            actorId: user.id,
            action: muted ? 'class.student_muted' : 'class.student_unmuted',
            targetUserId: userId,
            classId,
          });
        return { ...notice, changed };
      })
      .on(InteractionRequests.moderationRemove, StudentRef, async ({ userId }) => {
        requireModerator(member, 'remove students');
        await moderation.remove(classId, userId, user.id);
        ctx.onRemoved?.(classId, userId);
        const handWasRaised = await hands.lower(classId, userId);
        const notice = { userId, classId };
        ctx.io.to([staffRoom(classId), personRoom(classId, userId)]).emit(InteractionEvents.moderationRemoved, notice);
        // Their sockets leave the class on every process; the client does not reconnect after a server disconnect.
        const sockets = await ctx.io.in(personRoom(classId, userId)).fetchSockets();
        for (const s of sockets) s.disconnect();
        if (handWasRaised) ctx.io.to(member.room).emit(InteractionEvents.handsChanged, { hands: await hands.list(classId) });
        ctx.log.info({ classId, userId, by: user.id, sockets: sockets.length }, 'student removed from class');
        await ctx.audit.record({ actorId: user.id, action: 'class.student_removed', targetUserId: userId, classId });
        return { ...notice, disconnected: sockets.length };
      });
    return () => handlers.detachAll();
  };
}
