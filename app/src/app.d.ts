import type { SessionUser } from '../../server/auth/session-store.ts';

declare global {
  namespace App {
    interface Locals {
      user: SessionUser | null;
    }
    interface PageData {
      user: SessionUser | null;
    }
  }
}

export {};
