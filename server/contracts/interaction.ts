// Class interaction over Socket.io (chat, Q&A, polls and quizzes, raised hands, reactions, moderation):
// the payload schema of every client event and the shapes the server sends back, shared by server and app.
// Every string and list is bounded here, so the server rejects an oversized payload before touching the database.
import { z } from 'zod';
import type { ClassRole } from './live-class.ts';

export const LIMITS = {
  chatBody: 1000,
  chatPage: 50,
  questionBody: 500,
  pollQuestion: 300,
  pollOptionLabel: 200,
  pollMinOptions: 2,
  pollMaxOptions: 10,
  /** Every member downloads every poll (with its results) on join: a class keeps at most this many. */
  pollsPerClass: 100,
  /** Likewise for questions: one person asks at most this many in one class. */
  questionsPerPerson: 50,
} as const;

const Id = (what: string) => z.uuid({ message: `${what} must be an id` });
const Text = (what: string, max: number) =>
  z
    .string({ message: `${what} must be text` })
    .trim()
    .min(1, { message: `${what} is empty` })
    .max(max, { message: `${what} must be at most ${max} characters` });

// ---- Reactions: a small fixed set, shown briefly on the teacher's screen ----
export const REACTIONS = ['thumbs_up', 'clap', 'laugh', 'surprised', 'heart', 'confused'] as const;
export type Reaction = (typeof REACTIONS)[number];
export const REACTION_EMOJI: Record<Reaction, string> = {
  thumbs_up: '👍',
  clap: '👏',
  laugh: '😂',
  surprised: '😮',
  heart: '❤️',
  confused: '😕',
};

// ---- Client -> server payloads (one schema per event) ----
export const Empty = z.object({}).strict().optional();

export const ChatSend = z.object({ body: Text('Message', LIMITS.chatBody) }).strict();
/** Older pages: messages sent before `before` (a message id the client already has). */
export const ChatHistory = z.object({ before: Id('before'), limit: z.number().int().min(1).max(LIMITS.chatPage).optional() }).strict();
export const ChatDelete = z.object({ messageId: Id('messageId') }).strict();

export const QuestionAsk = z.object({ body: Text('Question', LIMITS.questionBody), anonymous: z.boolean().default(false) }).strict();
export const QuestionRef = z.object({ questionId: Id('questionId') }).strict();
export const QuestionPin = z.object({ questionId: Id('questionId'), pinned: z.boolean() }).strict();

export const PollCreate = z
  .object({
    question: Text('Poll question', LIMITS.pollQuestion),
    kind: z.enum(['single', 'multiple']).default('single'),
    options: z
      .array(z.object({ label: Text('Option', LIMITS.pollOptionLabel), correct: z.boolean().default(false) }).strict())
      .min(LIMITS.pollMinOptions, { message: `A poll needs at least ${LIMITS.pollMinOptions} options` })
      .max(LIMITS.pollMaxOptions, { message: `A poll has at most ${LIMITS.pollMaxOptions} options` }),
    /** A quiz has correct option(s), revealed when the poll closes. */
    quiz: z.boolean().default(false),
    /** Students may change their vote while the poll is open. */
    allowChange: z.boolean().default(false),
    /** Students see the live results (the teacher can change this later). */
    showResults: z.boolean().default(false),
  })
  .strict()
  .superRefine((poll, ctx) => {
    const correct = poll.options.filter((o) => o.correct).length;
    if (poll.quiz && correct === 0) ctx.addIssue({ code: 'custom', path: ['options'], message: 'Mark the correct answer of the quiz' });
    if (poll.quiz && poll.kind === 'single' && correct > 1)
      ctx.addIssue({ code: 'custom', path: ['options'], message: 'A single-choice quiz has one correct answer' });
    if (!poll.quiz && correct > 0) ctx.addIssue({ code: 'custom', path: ['options'], message: 'Only a quiz has correct answers' });
    const labels = poll.options.map((o) => o.label.trim().toLowerCase());
    if (new Set(labels).size !== labels.length)
      ctx.addIssue({ code: 'custom', path: ['options'], message: 'Two options have the same text' });
  });
export const PollVote = z
  .object({
    pollId: Id('pollId'),
    optionIds: z.array(Id('optionId')).min(1, { message: 'Choose an option' }).max(LIMITS.pollMaxOptions),
  })
  .strict();
export const PollRef = z.object({ pollId: Id('pollId') }).strict();
export const PollShowResults = z.object({ pollId: Id('pollId'), show: z.boolean() }).strict();

export const HandLower = z
  .object({ userId: Id('userId').optional() })
  .strict()
  .optional();
export const ReactionSend = z.object({ reaction: z.enum(REACTIONS) }).strict();

export const StudentRef = z.object({ userId: Id('userId') }).strict();
export const MuteSet = z.object({ userId: Id('userId'), muted: z.boolean() }).strict();

export type ChatSend = z.input<typeof ChatSend>;
export type QuestionAsk = z.input<typeof QuestionAsk>;
export type PollCreate = z.input<typeof PollCreate>;
export type PollVote = z.input<typeof PollVote>;

// ---- Server -> client shapes ----
export interface Author {
  id: string;
  displayName: string;
  role: ClassRole;
}

export interface ChatMessage {
  id: string;
  author: Author;
  /** Plain text: always rendered as text, never as HTML. Empty once deleted. */
  body: string;
  createdAt: string;
  deleted: boolean;
}

export interface ChatPage {
  messages: ChatMessage[];
  /** More messages exist before the first one of this page. */
  hasMore: boolean;
}

export type QuestionStatus = 'open' | 'answered' | 'dismissed';
export interface Question {
  id: string;
  body: string;
  /** null when the question is anonymous and the viewer is a student (the teacher always sees the author). */
  author: Author | null;
  anonymous: boolean;
  status: QuestionStatus;
  pinned: boolean;
  votes: number;
  createdAt: string;
}

export interface PollOption {
  id: string;
  label: string;
  /** Known to the teacher always, to students once a quiz closes; null otherwise. */
  correct: boolean | null;
}
export interface PollResults {
  pollId: string;
  /** optionId -> ballots that chose it */
  counts: Record<string, number>;
  /** Number of people who voted */
  voters: number;
}
export interface Poll {
  id: string;
  question: string;
  kind: 'single' | 'multiple';
  quiz: boolean;
  allowChange: boolean;
  showResults: boolean;
  status: 'open' | 'closed';
  options: PollOption[];
  /** Present for the teacher always, for students when the teacher shows them. */
  results: PollResults | null;
  createdAt: string;
  closedAt: string | null;
}

export interface RaisedHand {
  userId: string;
  displayName: string;
  raisedAt: string;
}

export interface InteractionSnapshot {
  chat: ChatPage;
  questions: Question[];
  polls: Poll[];
  hands: RaisedHand[];
  me: {
    id: string;
    muted: boolean;
    /** Questions this user asked (also the anonymous ones, which carry no author for students). */
    askedQuestionIds: string[];
    votedQuestionIds: string[];
    /** pollId -> the options of this user's ballot */
    ballots: Record<string, string[]>;
  };
}

export interface ReactionShown {
  reaction: Reaction;
  from: string;
  at: string;
}

/**
 * Server -> client events of the interaction features. Broadcasts go to the class room; question and poll
 * events that differ by role go to the staff room and to the students separately.
 */
export const InteractionEvents = {
  /**
   * New chat messages, oldest first: a lone message arrives alone, the ones sent in quick succession arrive
   * together (the server coalesces a busy class's chat, see server/realtime/chat-fan-out.ts).
   */
  chatMessages: 'chat:messages',
  chatDeleted: 'chat:deleted',
  questionUpdated: 'question:updated',
  questionRemoved: 'question:removed',
  pollUpdated: 'poll:updated',
  pollResults: 'poll:results',
  handsChanged: 'hands:changed',
  reactionShown: 'reaction:shown',
  moderationMuted: 'moderation:muted',
  moderationRemoved: 'moderation:removed',
} as const;

/** Client -> server events (every one answered with the Ack envelope). */
export const InteractionRequests = {
  sync: 'interaction:sync',
  chatSend: 'chat:send',
  chatHistory: 'chat:history',
  chatDelete: 'chat:delete',
  questionAsk: 'question:ask',
  questionVote: 'question:vote',
  questionUnvote: 'question:unvote',
  questionAnswer: 'question:answer',
  questionReopen: 'question:reopen',
  questionPin: 'question:pin',
  questionDismiss: 'question:dismiss',
  pollCreate: 'poll:create',
  pollVote: 'poll:vote',
  pollClose: 'poll:close',
  pollShowResults: 'poll:showResults',
  handRaise: 'hand:raise',
  handLower: 'hand:lower',
  handLowerAll: 'hand:lowerAll',
  reactionSend: 'reaction:send',
  moderationMute: 'moderation:mute',
  moderationRemove: 'moderation:remove',
} as const;
