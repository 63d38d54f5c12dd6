// /health answers the overall status to anyone and the parts (database, mediasoup workers, ffmpeg) only to an
// admin or with LECTERN_METRICS_TOKEN; it turns 503 when a part is down. /health/live and /health/ready are
// for load balancers and orchestrators.
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerPeople, type People } from '../helpers/people.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const TOKEN = 'health-test-token-0123456789';
const withToken = { headers: { authorization: `Bearer ${TOKEN}` } };

/** Listens on 127.0.0.1:`port` (TCP) until closed: a port someone else holds. */
function hold(port: number): net.Server {
  return net.createServer().listen(port, '127.0.0.1');
}

/** A port P such that P and P + 1 are free now (the two workers' WebRtcServer ports). */
async function freePortPair(): Promise<number> {
  for (;;) {
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as net.AddressInfo).port;
    const next = net.createServer().listen(port + 1, '127.0.0.1');
    const free = await Promise.race([once(next, 'listening').then(() => true), once(next, 'error').then(() => false)]);
    await Promise.all([new Promise((r) => probe.close(r)), free ? new Promise((r) => next.close(r)) : undefined]);
    if (free && port + 1 < 65536) return port;
  }
}

describe('GET /health', () => {
  let server: TestServer;
  let people: People;
  let rtcPort: number;
  beforeAll(async () => {
    rtcPort = await freePortPair();
    // Fixed ports (the product's default mode), so a replacement worker needs its port back.
    server = await startTestServer({ env: { LECTERN_WORKERS: '2', LECTERN_RTC_PORT: String(rtcPort), LECTERN_METRICS_TOKEN: TOKEN } });
    people = await registerPeople(server);
  });
  afterAll(() => server?.stop());

  it('tells anyone only the overall status: no versions, pids or parts', async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    // Logged in without the admin role, or with a wrong token: the same.
    expect((await people.teacher.client.get('/health')).body).toEqual({ status: 'ok' });
    const wrong = await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(await wrong.json()).toEqual({ status: 'ok' });
  });

  it('shows an admin the parts', async () => {
    const res = await people.admin.client.get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', database: { ok: true, kind: 'pglite' }, workers: { configured: 2, alive: 2 } });
  });

  it('is 200 with the database up, every worker alive and ffmpeg found', async () => {
    const res = await fetch(`${server.url}/health`, withToken);
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
    const pool = server.workers;
    const [first] = pool.all();
    const replaced = once(pool, 'workerreplaced');
    process.kill(first!.worker.pid, 'SIGKILL');
    await replaced;
    expect(pool.health().alive).toBe(2);
    expect(pool.all().map((w) => w.worker.pid)).not.toContain(first!.worker.pid);

    // Both die, and something else takes their ports at once (before the first restart, 500 ms later): no
    // replacement can start, so the answer is 503 for as long as that lasts, however slow the request.
    const held: net.Server[] = [];
    const bothDied = new Promise<void>((resolve) => {
      const onDied = (index: number): void => {
        held.push(hold(rtcPort + index));
        if (held.length === 2) {
          pool.off('workerdied', onDied);
          resolve();
        }
      };
      pool.on('workerdied', onDied);
    });
    for (const w of pool.all()) process.kill(w.worker.pid, 'SIGKILL');
    await bothDied;
    await Promise.all(held.map((s) => s.listening || once(s, 'listening')));
    const res = await fetch(`${server.url}/health`, withToken);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'degraded', workers: { configured: 2, alive: 0 } });
    expect((await fetch(`${server.url}/health`)).status).toBe(503);
    // Not ready without a worker (a load balancer sends it no class), yet alive (no restart needed).
    const ready = await fetch(`${server.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'not_ready' });
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);

    // The ports come free: the pool keeps retrying and both workers are back.
    let back = 0;
    const bothBack = new Promise<void>((resolve) => pool.on('workerreplaced', () => ++back === 2 && resolve()));
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    await bothBack;
    const again = await fetch(`${server.url}/health`, withToken);
    expect(again.status).toBe(200);
    expect((await again.json()).workers.alive).toBe(2);
    expect((await fetch(`${server.url}/health/ready`)).status).toBe(200);
  });

  it('answers live and ready while all is well', async () => {
    const live = await fetch(`${server.url}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });
});
