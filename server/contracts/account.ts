// Bodies of the account routes (verification, password reset, profile, sessions), shared with the pages.
import { z } from 'zod';
import { DisplayName, Email, Password } from './auth.ts';

/** A one-time token from a mailed link (its format is checked again where it is used). */
export const LinkToken = z.string().trim().min(10).max(100);

export const VerifyEmailBody = z.object({ token: LinkToken });
export const ForgotPasswordBody = z.object({ email: Email });
export type ForgotPasswordBody = z.input<typeof ForgotPasswordBody>;
export const ResetPasswordBody = z.object({ token: LinkToken, password: Password });
export type ResetPasswordBody = z.input<typeof ResetPasswordBody>;

export const ProfileUpdateBody = z.object({ displayName: DisplayName });
export type ProfileUpdateBody = z.input<typeof ProfileUpdateBody>;
export const PasswordChangeBody = z.object({
  currentPassword: z.string().min(1, { message: 'Enter your current password' }).max(256),
  newPassword: Password,
});
export type PasswordChangeBody = z.input<typeof PasswordChangeBody>;
export const AccountDeleteBody = z.object({ password: z.string().min(1, { message: 'Enter your password to confirm' }).max(256) });
export const HandOverBody = z.object({ email: Email });

export interface ActiveSession {
  id: string;
  /** "Firefox 128 on Windows 10" */
  device: string;
  ip: string | null;
  createdAt: string;
  lastSeenAt: string;
  current: boolean;
}

export interface Profile {
  id: string;
  email: string;
  displayName: string;
  role: 'student' | 'teacher' | 'admin';
  emailVerified: boolean;
  createdAt: string;
  avatarUrl: string | null;
  /** Courses this person teaches: handed over or deleted before the account can be */
  teaching: { id: string; title: string }[];
}
