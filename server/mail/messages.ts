// The words of every message, in one place and apart from the layout, so that another language is one more
// object of the same shape (`MailMessages`). Each returns the parts server/mail/mail-layout.ts renders into
// text and HTML.
import type { MailParts } from './mail-layout.ts';

type Unsubscribe = { url: string };

export interface MailMessages {
  verifyEmail(p: { name: string; url: string; hours: number }): MailParts;
  passwordReset(p: { name: string; url: string; minutes: number }): MailParts;
  courseInvitation(p: { teacherName: string; courseTitle: string; url: string; days: number; unsubscribe: Unsubscribe }): MailParts;
  classReminder(p: {
    name: string;
    classTitle: string;
    courseTitle: string;
    startsAt: string;
    minutes: number;
    url: string;
    unsubscribe: Unsubscribe;
  }): MailParts;
  classMoved(p: {
    name: string;
    classTitle: string;
    courseTitle: string;
    was: string;
    startsAt: string;
    url: string;
    unsubscribe: Unsubscribe;
  }): MailParts;
  classCancelled(p: {
    name: string;
    classTitle: string;
    courseTitle: string;
    was: string;
    url: string;
    unsubscribe: Unsubscribe;
  }): MailParts;
  replayReady(p: { name: string; classTitle: string; courseTitle: string; url: string; unsubscribe: Unsubscribe }): MailParts;
}

const stop = (what: string, u: Unsubscribe) => ({ text: `You get this because ${what}.`, label: 'Unsubscribe from these', url: u.url });

export const en: MailMessages = {
  verifyEmail: (p) => ({
    subject: 'Confirm your email address for Lectern',
    greeting: `Hello ${p.name},`,
    paragraphs: ['Please confirm that this is your address, so that you can enroll in courses and teach on Lectern.'],
    action: { label: 'Confirm my address', url: p.url },
    notes: [`The link works once, for ${p.hours} hours.`, 'If you did not create a Lectern account, ignore this message.'],
  }),
  passwordReset: (p) => ({
    subject: 'Reset your Lectern password',
    greeting: `Hello ${p.name},`,
    paragraphs: ['Someone (we hope you) asked to reset the password of your Lectern account.'],
    action: { label: 'Choose a new password', url: p.url },
    notes: [
      `The link works once, for ${p.minutes} minutes. Setting a new password logs out every other device.`,
      'If you did not ask for this, ignore this message: your password stays as it is.',
    ],
  }),
  courseInvitation: (p) => ({
    subject: `${p.teacherName} invites you to “${p.courseTitle}” on Lectern`,
    greeting: 'Hello,',
    paragraphs: [`${p.teacherName} invites you to join the course “${p.courseTitle}” on Lectern, with live classes and replays.`],
    action: { label: 'Accept the invitation', url: p.url },
    notes: [`The invitation is valid for ${p.days} days. No account yet? You can create one from the link.`],
    unsubscribe: stop('a teacher invited this address to a course', p.unsubscribe),
  }),
  classReminder: (p) => ({
    subject: `Starts in ${p.minutes} minutes: ${p.classTitle}`,
    greeting: `Hello ${p.name},`,
    paragraphs: [`“${p.classTitle}” (${p.courseTitle}) starts in ${p.minutes} minutes, at ${p.startsAt}.`],
    action: { label: 'Join the class', url: p.url },
    unsubscribe: stop('you are enrolled in this course and class reminders are on', p.unsubscribe),
  }),
  classMoved: (p) => ({
    subject: `Moved: ${p.classTitle} now starts ${p.startsAt}`,
    greeting: `Hello ${p.name},`,
    paragraphs: [`The live class “${p.classTitle}” (${p.courseTitle}) was moved.`, `It was: ${p.was}`, `It is now: ${p.startsAt}`],
    action: { label: 'See the class', url: p.url },
    unsubscribe: stop('you are enrolled in this course and schedule changes are on', p.unsubscribe),
  }),
  classCancelled: (p) => ({
    subject: `Cancelled: ${p.classTitle}`,
    greeting: `Hello ${p.name},`,
    paragraphs: [`The live class “${p.classTitle}” (${p.courseTitle}) planned for ${p.was} is cancelled.`],
    action: { label: 'See the course', url: p.url },
    unsubscribe: stop('you are enrolled in this course and schedule changes are on', p.unsubscribe),
  }),
  replayReady: (p) => ({
    subject: `The replay is ready: ${p.classTitle}`,
    greeting: `Hello ${p.name},`,
    paragraphs: [`The replay of “${p.classTitle}” (${p.courseTitle}) is ready to watch.`],
    action: { label: 'Watch the replay', url: p.url },
    unsubscribe: stop('you are enrolled in this course and replay notices are on', p.unsubscribe),
  }),
};
