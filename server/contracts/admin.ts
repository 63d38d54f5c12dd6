// The admin API (/api/admin): accounts and roles, live classes and their media, failed recordings and
// transcodes, the audit trail. Shared with the admin page.
import { z } from 'zod';

export const UserRoleName = z.enum(['student', 'teacher', 'admin']);
export type UserRoleName = z.infer<typeof UserRoleName>;

export const AdminUsersQuery = z.object({
  /** Part of a name or address */
  q: z.string().trim().max(200).optional(),
  role: UserRoleName.optional(),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
});
export type AdminUsersQuery = z.input<typeof AdminUsersQuery>;

export const AdminUserUpdateBody = z
  .object({
    role: UserRoleName.optional(),
    /** true disables the account (ends its sessions, closes its sockets); false enables it again */
    disabled: z.boolean().optional(),
  })
  .strict()
  .refine((b) => b.role !== undefined || b.disabled !== undefined, { message: 'Give a role or disabled' });
export type AdminUserUpdateBody = z.input<typeof AdminUserUpdateBody>;

export const AuditQuery = z.object({
  /** Entries older than this (the last entry's `at`), for the next page */
  before: z.iso.datetime({ offset: true }).optional(),
});

export interface AdminUser {
  id: string;
  email: string;
  displayName: string;
  role: UserRoleName;
  emailVerified: boolean;
  disabled: boolean;
  createdAt: string;
}

export interface AdminUserPage {
  users: AdminUser[];
  total: number;
  page: number;
  pageSize: number;
}

/** A class live now in this process, with the health of its media. */
export interface AdminLiveClass {
  classId: string;
  title: string;
  courseTitle: string;
  teacher: string;
  startedAt: string | null;
  viewers: { webrtc: number; hls: number; waiting: number };
  /** The teacher's media as the SFU receives it, bits per second. */
  ingressBitsPerSecond: number | null;
  /** What the SFU sends the WebRTC students, and how well it arrives (mean loss, mean RTT). */
  egressBitsPerSecond: number | null;
  lossRatio: number | null;
  rttSeconds: number | null;
  hls: { state: 'offline' | 'starting' | 'live'; ffmpegRunning: boolean; speed: number | null; restarts: number };
}

export interface AdminFailure {
  kind: 'recording' | 'transcode';
  id: string;
  /** The class (recording) or lesson (transcode) it belongs to */
  title: string;
  reason: string;
  at: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  action: string;
  actor: { id: string; displayName: string | null } | null;
  target: { id: string; displayName: string | null } | null;
  classId: string | null;
  detail: Record<string, unknown>;
}
