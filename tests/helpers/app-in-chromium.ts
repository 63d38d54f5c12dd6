// For browser test files: the real server with the built app and a Chromium, started before the file's tests
// and closed after them.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from './browser.ts';
import { startTestServer, type TestServer } from './server.ts';

export interface AppInChromium {
  /** Set once the file's beforeAll has run. */
  readonly server: TestServer;
  readonly browser: Browser;
}

/** Call at the top of a describe block; read `server` and `browser` inside the tests. */
export function appInChromium(): AppInChromium {
  const started: { server?: TestServer; browser?: Browser } = {};
  beforeAll(async () => {
    [started.server, started.browser] = await Promise.all([startTestServer({ app: 'build' }), launchChromium()]);
  });
  afterAll(async () => {
    await started.browser?.close();
    await started.server?.stop();
  });
  return {
    get server() {
      if (!started.server) throw new Error('the server starts in beforeAll');
      return started.server;
    },
    get browser() {
      if (!started.browser) throw new Error('Chromium starts in beforeAll');
      return started.browser;
    },
  };
}
