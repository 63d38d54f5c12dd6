// Plugs the class interaction features (chat, Q&A, polls and quizzes, hands and reactions, moderation) into
// class membership, in the order they attach, plus the admission check that keeps removed students out.
import type { Services } from '../services.ts';
import { chatFeature } from './chat-feature.ts';
import type { ClassMembership } from './class-membership.ts';
import { handsFeature } from './hands-feature.ts';
import { interactionFeature } from './interaction-feature.ts';
import type { InteractionContext } from './interaction-kit.ts';
import { moderationFeature, removedStudentAdmission } from './moderation-feature.ts';
import { pollsFeature } from './polls-feature.ts';
import { questionsFeature } from './questions-feature.ts';

export function registerInteraction(membership: ClassMembership, services: Services): void {
  const ctx: InteractionContext = { io: membership.io, interaction: services.interaction, log: services.log.child({ module: 'interaction' }) };
  membership.admit(removedStudentAdmission(services.interaction));
  membership.use(interactionFeature(ctx));
  membership.use(chatFeature(ctx));
  membership.use(questionsFeature(ctx));
  membership.use(pollsFeature(ctx));
  membership.use(handsFeature(ctx));
  membership.use(moderationFeature(ctx));
}
