import { defineConfig } from 'vitest/config';

// Two groups, one after the other: logic and socket tests two files at a time, then the media-heavy files
// (ffmpeg ladders, Chromium with fake devices) one at a time. On 2 cores, two ffmpeg ladders or two
// browsers at once starve each other, and a starved ffmpeg falls behind real time, which tests would read
// as a product fault.
const shared = {
  globalSetup: ['tests/helpers/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
};
const media = ['tests/hls/**/*.test.ts', 'tests/browser/**/*.test.ts'];

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: { ...shared, name: 'logic', include: ['tests/**/*.test.ts'], exclude: media, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        test: { ...shared, name: 'media', include: media, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
