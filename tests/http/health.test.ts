// /health reports the database, the mediasoup workers and ffmpeg, and turns 503 when a part is down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe('GET /health', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { LECTERN_WORKERS: '2' } });
  });
  afterAll(() => server?.stop());

  it('is 200 with the database up, every worker alive and ffmpeg found', async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.status).toBe('ok');
    expect(body.database).toEqual({ ok: true, kind: 'pglite' });
    expect(body.workers.configured).toBe(2);
    expect(body.workers.alive).toBe(2);
    expect(body.ffmpeg.found).toBe(true);
    expect(body.ffmpeg.version).toMatch(/^\d|^n?\d/);
  });

  it('replaces a worker that dies and reports 503 while none is alive', async () => {
    const [first, second] = server.services.workers.all();
    const replaced = new Promise((resolve) => server.services.workers.once('workerreplaced', resolve));
    process.kill(first!.worker.pid, 'SIGKILL');
    await replaced;
    expect(server.services.workers.health().alive).toBe(2);
    expect(server.services.workers.all().map((w) => w.worker.pid)).not.toContain(first!.worker.pid);

    // Both down at once: degraded until the replacements are up.
    const both = new Promise<void>((resolve) => {
      let n = 0;
      server.services.workers.on('workerdied', () => ++n === 2 && resolve());
    });
    for (const w of server.services.workers.all()) process.kill(w.worker.pid, 'SIGKILL');
    await both;
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(503);
    expect((await res.json()).status).toBe('degraded');
    void second;
  });
});
