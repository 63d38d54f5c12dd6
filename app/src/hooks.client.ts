import type { ClientInit } from '@sveltejs/kit/hooks';
import { z } from 'zod';

// The pages' Content-Security-Policy allows no eval: zod would probe for it (new Function) to compile its
// parsers, be refused (a reported violation) and fall back. Told up front, it never asks.
export const init: ClientInit = () => {
  z.config({ jitless: true });
};
