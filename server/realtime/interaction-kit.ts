// What every class interaction feature shares: its dependencies, the extra rooms of a class (staff, one per
// user), role checks, flood control and broadcasts that differ by role. Broadcasts always go through rooms,
// so that the Redis adapter carries them to the other server processes.
import type { ServerToClientEvents } from '../contracts/protocol.ts';
import { canModerate } from '../auth/permissions.ts';
import { FLOOD_RULES, type Interaction } from '../interaction/interaction.ts';
import type { Logger } from '../log.ts';
import type { InteractionTally } from '../metrics/activity-metrics.ts';
import type { AuditLog } from '../admin/audit-log.ts';
import { staffRoom, type ClassMember } from './class-membership.ts';
import { DomainError } from '../domain-error.ts';
import type { LecternIo } from './socket-server.ts';

/** Each feature registers its requests for a member through one of these (see requests.ts). */
export { MemberHandlers } from './requests.ts';

export interface InteractionContext {
  io: LecternIo;
  interaction: Interaction;
  /** Counts accepted chat messages, questions and votes for /metrics. */
  tally: InteractionTally;
  /** Keeps the moderators' actions (mutes, removals, deleted messages) for the admins' audit view. */
  audit: Pick<AuditLog, 'record'>;
  log: Logger;
  /** Called after a student was removed from a class (e.g. to drop cached media access decisions). */
  onRemoved?: (classId: string, userId: string) => void;
}

/** The teacher and admins of a class (joined by ClassMembership): they see anonymous authors, live results and reactions. */
export { staffRoom };

/** Every socket of one person in one class: how a mute notice or a removal reaches all their tabs. */
export function personRoom(classId: string, userId: string): string {
  return `class:${classId}:user:${userId}`;
}

export function isStaff(member: ClassMember): boolean {
  return canModerate(member.role);
}

export function requireModerator(member: ClassMember, what: string): void {
  if (!isStaff(member)) throw new DomainError('forbidden', `Only the teacher can ${what}`);
}

export function requireStudent(member: ClassMember, what: string): void {
  if (isStaff(member)) throw new DomainError('forbidden', `Only students ${what}`);
}

/** Spends one token of the member's bucket for `kind` (cluster-wide with Redis), or refuses with a clear "slow down". */
export async function throttle(ctx: InteractionContext, member: ClassMember, kind: keyof typeof FLOOD_RULES): Promise<void> {
  const rule = kind === 'chat' && isStaff(member) ? FLOOD_RULES.chatModerator : FLOOD_RULES[kind];
  const result = await ctx.interaction.flood.take(`${member.classId}:${member.user.id}:${kind}`, rule);
  if (!result.allowed) {
    const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
    throw new DomainError('slow_down', `Slow down: you are sending too fast. Try again in ${seconds} s.`);
  }
}

/** Refuses when the teacher muted (for `muted`) or removed this student. Staff are never restricted. */
export async function assertAllowed(ctx: InteractionContext, member: ClassMember, check: 'muted' | 'removed'): Promise<void> {
  if (isStaff(member)) return;
  const restrictions = await ctx.interaction.moderation.restrictionsOf(member.classId, member.user.id);
  if (restrictions.has('removed')) throw new DomainError('removed', 'You were removed from this class');
  if (check === 'muted' && restrictions.has('muted')) throw new DomainError('muted', 'The teacher muted you in this class');
}

/** Sends the staff version of an event to the staff room and the student version to everyone else. */
export function emitByRole<E extends 'question:updated' | 'poll:updated'>(
  ctx: InteractionContext,
  member: ClassMember,
  event: E,
  staff: Parameters<ServerToClientEvents[E]>[0],
  students: Parameters<ServerToClientEvents[E]>[0],
): void {
  const staffOnly = staffRoom(member.classId);
  ctx.io.to(staffOnly).emit(event, ...([staff] as Parameters<ServerToClientEvents[E]>));
  ctx.io
    .to(member.room)
    .except(staffOnly)
    .emit(event, ...([students] as Parameters<ServerToClientEvents[E]>));
}
