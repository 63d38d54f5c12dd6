// Chapters during a class: the teacher (or an admin) marks where a new part of the class starts, with an
// optional title; the replay shows it (chapter list, timeline marker, chapter track, the MP4's chapters).
import { ChapterMark, type MarkedChapter } from '../contracts/timeline.ts';
import type { ClassFeature } from './class-membership.ts';
import { MemberHandlers, requireModerator, throttle, type InteractionContext } from './interaction-kit.ts';

export function chaptersFeature(ctx: InteractionContext): ClassFeature {
  return (member) => {
    const handlers = new MemberHandlers(member, ctx.log).on('chapter:mark', ChapterMark, async ({ title }): Promise<MarkedChapter> => {
      requireModerator(member, 'mark chapters');
      await throttle(ctx, member, 'chapter');
      const row = await ctx.interaction.chapters.mark(member.classId, member.user.id, title);
      ctx.log.info({ classId: member.classId, chapterId: row.id }, 'chapter marked');
      return { id: row.id, title: row.title, at: row.at.toISOString() };
    });
    return () => handlers.detachAll();
  };
}
