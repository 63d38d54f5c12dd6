import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: each file may run a mediasoup worker, ffmpeg and Chromium; more files at once only thrash.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
