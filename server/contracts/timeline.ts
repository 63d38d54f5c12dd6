// A replay's timeline, shared by server and app: the class's chat, questions and polls at the moments of the
// replay they happened, its chapters (marked in the studio with `chapter:mark`, or edited on the replay), and
// where the class went on without the replay (gaps between runs).
import { z } from 'zod';
import type { ChatMessage, Poll, Question } from './interaction.ts';

export const TIMELINE_LIMITS = {
  chapterTitle: 120,
  chaptersPerClass: 200,
  /** The first this many chat messages of a class are on its timeline (a class rarely has more). */
  chatMessages: 3000,
  questions: 2000,
  /** A replay is at most this long (seconds): what a chapter's position may be. */
  replaySeconds: 24 * 3600,
} as const;

const ChapterTitle = z
  .string({ message: 'The chapter title must be text' })
  .trim()
  .min(1, { message: 'The chapter title is empty' })
  .max(TIMELINE_LIMITS.chapterTitle, { message: `A chapter title has at most ${TIMELINE_LIMITS.chapterTitle} characters` })
  // One line: it is a cue of the replay's chapter track and a line of the MP4's chapter list.
  .refine((t) => !/\p{Cc}/u.test(t), { message: 'A chapter title is one line of text' });
const ChapterAt = z
  .number({ message: 'atSeconds must be a number of seconds' })
  .min(0, { message: 'atSeconds must not be negative' })
  .max(TIMELINE_LIMITS.replaySeconds, { message: 'atSeconds is past the end of any replay' });

/** chapter:mark (socket, the teacher in the studio): a chapter starts now; without a title it is numbered. */
export const ChapterMark = z.object({ title: ChapterTitle.optional() }).strict();
/** POST /api/media/recordings/:recordingId/chapters */
export const ChapterCreate = z.object({ title: ChapterTitle, atSeconds: ChapterAt }).strict();
/** PATCH /api/media/recordings/:recordingId/chapters/:chapterId */
export const ChapterUpdate = z
  .object({ title: ChapterTitle.optional(), atSeconds: ChapterAt.optional() })
  .strict()
  .refine((c) => c.title !== undefined || c.atSeconds !== undefined, { message: 'Give a new title or position' });
export const ChapterIdParam = z.object({
  recordingId: z.uuid({ message: 'recordingId must be a recording id' }),
  chapterId: z.uuid({ message: 'chapterId must be a chapter id' }),
});

export type ChapterMark = z.input<typeof ChapterMark>;
export type ChapterCreate = z.input<typeof ChapterCreate>;
export type ChapterUpdate = z.input<typeof ChapterUpdate>;

/** A chapter as the studio's `chapter:mark` ack carries it (the replay does not exist yet). */
export interface MarkedChapter {
  id: string;
  title: string;
  at: string;
}

/** A chapter of a replay: from `atSeconds` to the next chapter (or the end). */
export interface ReplayChapter {
  id: string;
  title: string;
  atSeconds: number;
}

export type TimelineItem =
  | { kind: 'chat'; id: string; atSeconds: number; message: ChatMessage }
  | { kind: 'question'; id: string; atSeconds: number; question: Question; answeredAtSeconds: number | null }
  | { kind: 'poll'; id: string; atSeconds: number; poll: Poll; closedAtSeconds: number | null };

/** GET /api/media/recordings/:recordingId/timeline */
export interface ReplayTimeline {
  recordingId: string;
  durationSeconds: number;
  /** Where the class went on without being recorded (e.g. the server restarted): at that moment of the replay, for that long. */
  gaps: { atSeconds: number; seconds: number }[];
  chapters: ReplayChapter[];
  /** Chat messages (not deleted ones), questions (not dismissed ones) and polls, in the order they happened. */
  items: TimelineItem[];
  /** More chat or questions happened than the timeline carries (the first ones are kept). */
  truncated: boolean;
  /** The chapters as a WebVTT chapters track for the player (signed for the viewer); null without chapters. */
  chapterTrackUrl: string | null;
}
