// What kinds of mail Lectern sends, and which of them a person may turn off (shared by the server, which
// checks opt-outs when it sends, and the profile page, which shows one switch per topic).
import { z } from 'zod';

/** Notices a person may turn off, each with a one-click unsubscribe in every message of its kind. */
export const MAIL_TOPICS = ['class_reminders', 'schedule_changes', 'replays', 'invitations'] as const;
export const MailTopic = z.enum(MAIL_TOPICS);
export type MailTopic = z.infer<typeof MailTopic>;

export const MAIL_TOPIC_LABELS: Record<MailTopic, { label: string; hint: string }> = {
  class_reminders: { label: 'Class reminders', hint: '“Your class starts in 15 minutes”' },
  schedule_changes: { label: 'Schedule changes', hint: 'A class you are enrolled in was moved or cancelled' },
  replays: { label: 'Replays', hint: 'The replay of a class is ready to watch' },
  invitations: { label: 'Course invitations', hint: 'A teacher invites you to a course' },
};

/** Every message kind; account messages (verification, password reset) have no topic and cannot be turned off. */
export const MAIL_KINDS = {
  verify_email: null,
  password_reset: null,
  course_invitation: 'invitations',
  class_reminder: 'class_reminders',
  class_moved: 'schedule_changes',
  class_cancelled: 'schedule_changes',
  replay_ready: 'replays',
} as const satisfies Record<string, MailTopic | null>;
export type MailKind = keyof typeof MAIL_KINDS;

export const MailPreferencesBody = z.object({ topics: z.partialRecord(MailTopic, z.boolean()) });
export type MailPreferences = Record<MailTopic, boolean>;

export const UnsubscribeBody = z.object({ token: z.string().min(10).max(400) });
