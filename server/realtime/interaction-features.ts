// Plugs the class interaction features (chat, Q&A, polls and quizzes, chapters, hands and reactions,
// moderation) into class membership, in the order they attach. Removed students are kept out by Permissions.classEntry itself,
// so they lose the broadcast and the replays as well as the socket. Returns what owns the features' timers
// (the chat's batching windows): close it before the Socket.io server closes.
import { chaptersFeature } from './chapters-feature.ts';
import { ChatFanOut } from './chat-fan-out.ts';
import { chatFeature } from './chat-feature.ts';
import type { ClassMembership } from './class-membership.ts';
import { handsFeature } from './hands-feature.ts';
import { interactionFeature } from './interaction-feature.ts';
import type { InteractionContext } from './interaction-kit.ts';
import { moderationFeature } from './moderation-feature.ts';
import { pollsFeature } from './polls-feature.ts';
import { questionsFeature } from './questions-feature.ts';

export function registerInteraction(
  membership: ClassMembership,
  { interaction, tally, audit, log, onRemoved }: Pick<InteractionContext, 'interaction' | 'tally' | 'audit' | 'log' | 'onRemoved'>,
): { close(): void } {
  const ctx: InteractionContext = { io: membership.io, interaction, tally, audit, log, ...(onRemoved ? { onRemoved } : {}) };
  membership.use(interactionFeature(ctx));
  const chatFanOut = new ChatFanOut(membership.io);
  membership.use(chatFeature(ctx, chatFanOut));
  membership.use(questionsFeature(ctx));
  membership.use(pollsFeature(ctx));
  membership.use(chaptersFeature(ctx));
  membership.use(handsFeature(ctx));
  membership.use(moderationFeature(ctx));
  return { close: () => chatFanOut.close() };
}
