// Shared by the server (validation) and the app (forms): one definition of what a valid body is.
import { z } from 'zod';

/** Name of the HttpOnly cookie carrying the session token. */
export const SESSION_COOKIE = 'lectern_session';

export const Email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .pipe(z.email({ message: 'Enter a valid email address' }));
export const Password = z
  .string()
  .min(10, { message: 'Password must be at least 10 characters' })
  .max(256, { message: 'Password must be at most 256 characters' });
export const DisplayName = z
  .string()
  .trim()
  .min(1, { message: 'Display name is required' })
  .max(80, { message: 'Display name must be at most 80 characters' });

export const RegisterBody = z.object({
  email: Email,
  password: Password,
  displayName: DisplayName,
  /** Self-registration may choose student or teacher; admins are made by an admin. */
  role: z.enum(['student', 'teacher']).default('student'),
});
export type RegisterBody = z.input<typeof RegisterBody>;

export const LoginBody = z.object({
  email: Email,
  password: z.string().min(1, { message: 'Password is required' }).max(256),
});
export type LoginBody = z.input<typeof LoginBody>;

export const PublicUser = z.object({
  id: z.uuid(),
  email: z.string(),
  displayName: z.string(),
  role: z.enum(['student', 'teacher', 'admin']),
  /** False until the person followed the link mailed to them; unverified accounts may not enroll or teach. */
  emailVerified: z.boolean(),
});
export type PublicUser = z.infer<typeof PublicUser>;

/** The error body every API route answers with. */
export interface ApiError {
  error: { code: string; message: string; issues?: { path: string; message: string }[] };
}
