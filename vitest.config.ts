import { defineConfig } from 'vitest/config';

// Two groups, one after the other: logic and socket tests two files at a time, then the media-heavy files
// (ffmpeg ladders and transcodes, Chromium with fake devices, network namespaces) one at a time. On 2 cores, two ffmpeg ladders
// or two browsers at once starve each other, and a starved ffmpeg falls behind real time, which tests would
// read as a product fault.
const shared = {
  globalSetup: ['tests/helpers/global-setup.ts'],
  testTimeout: 60_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
};
const media = ['tests/hls/**/*.test.ts', 'tests/browser/**/*.test.ts', 'tests/uploads/**/*.test.ts', 'tests/net/**/*.test.ts'];

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      {
        test: { ...shared, name: 'logic', include: ['tests/**/*.test.ts'], exclude: media, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        // A browser on a loaded 2-core machine may take longer than expect.poll's default 1 s to answer one
        // probe: the media files wait up to 10 s for a condition unless they say otherwise.
        test: {
          ...shared,
          name: 'media',
          include: media,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          expect: { poll: { timeout: 10_000 } },
        },
      },
    ],
  },
});
