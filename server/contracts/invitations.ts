// Course invitations: the pasted address list a teacher sends, and the bodies of the invitee's answers.
import { z } from 'zod';
import { DisplayName, Email, Password } from './auth.ts';
import { LinkToken } from './account.ts';

/** Whatever a teacher pastes: one address per line, or separated by commas or semicolons, "Name <a@b>" too. */
export const InviteBody = z.object({ addresses: z.string().max(100_000, { message: 'That is too much text to paste at once' }) });

/** The distinct valid addresses in a pasted list (lower-cased, in order), and the pieces that are not addresses. */
export function parseAddressList(text: string): { valid: string[]; invalid: string[] } {
  const valid = new Set<string>();
  const invalid: string[] = [];
  // "Name <a@b>" keeps its spaces; otherwise spaces separate addresses too.
  const pieces = text.split(/[\n,;]+/).flatMap((p) => (p.includes('<') ? [p] : p.split(/\s+/)));
  for (const raw of pieces) {
    const piece = raw.trim();
    if (!piece) continue;
    const candidate = /<([^<>]+)>\s*$/.exec(piece)?.[1] ?? piece;
    const parsed = Email.safeParse(candidate);
    if (parsed.success) valid.add(parsed.data);
    else invalid.push(piece.slice(0, 200));
  }
  return { valid: [...valid], invalid };
}

export const AcceptInvitationBody = z.object({ token: LinkToken });
export const InvitationRegisterBody = z.object({ token: LinkToken, displayName: DisplayName, password: Password });
export type InvitationRegisterBody = z.input<typeof InvitationRegisterBody>;

export interface InviteResult {
  invited: string[];
  alreadyEnrolled: string[];
  /** Invited within the last day already (not mailed again) */
  alreadyInvited: string[];
  invalid: string[];
  remainingToday: number;
}

export interface PendingInvitation {
  id: string;
  email: string;
  sentAt: string;
  expiresAt: string;
}

/** What the invitation page shows to whoever holds the link. */
export interface InvitationView {
  status: 'pending' | 'accepted' | 'revoked' | 'expired';
  email: string;
  courseId: string;
  courseTitle: string;
  teacherName: string;
  accountExists: boolean;
}
