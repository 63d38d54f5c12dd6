// The registration limit as shipped (20 new accounts per client address per hour, LECTERN_REGISTRATIONS_PER_HOUR
// unset), with real client addresses: each client connects from its own loopback address (127.0.0.2, ...).
// Without LECTERN_TRUST_PROXY (the default) X-Forwarded-For is ignored, so forging it escapes nothing; behind a
// reverse proxy that appends the address it saw (nginx's $proxy_add_x_forwarded_for; here a small Node proxy
// doing the same, since the proxy is not ours), LECTERN_TRUST_PROXY=1 counts each client by that last hop, and a
// forged header in front of it changes nothing either.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startReverseProxy, type ReverseProxy } from '../helpers/reverse-proxy.ts';

const DEFAULT_LIMIT = 20;
let counter = 0;

/** POST /api/auth/register from `localAddress`, with extra headers; the status and Retry-After. */
function register(
  url: string,
  localAddress: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; retryAfter: string | undefined }> {
  const body = JSON.stringify({
    email: `limit-${process.pid}-${++counter}-${Date.now()}@example.test`,
    password: 'a long enough pw',
    displayName: `Newcomer ${counter}`,
  });
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}/api/auth/register`,
      {
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function registerMany(url: string, localAddress: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) statuses.push((await register(url, localAddress)).status);
  return statuses;
}

describe('registration limit as shipped, no proxy trusted', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { LECTERN_REGISTRATIONS_PER_HOUR: undefined, LECTERN_TRUST_PROXY: undefined } });
  });
  afterAll(() => server?.stop());

  it('lets an address create 20 accounts an hour, refuses the 21st whatever X-Forwarded-For says, and counts others apart', async () => {
    expect(await registerMany(server.url, '127.0.0.2', DEFAULT_LIMIT)).toEqual(Array(DEFAULT_LIMIT).fill(201));
    const refused = await register(server.url, '127.0.0.2');
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(3600);
    // Claiming to be someone else is not believed without a trusted proxy.
    expect((await register(server.url, '127.0.0.2', { 'x-forwarded-for': '203.0.113.9' })).status).toBe(429);
    // Another address has its own twenty.
    expect((await register(server.url, '127.0.0.3')).status).toBe(201);
  });
});

describe('registration limit behind a reverse proxy (LECTERN_TRUST_PROXY=1)', () => {
  let server: TestServer;
  let proxy: ReverseProxy;
  beforeAll(async () => {
    server = await startTestServer({ env: { LECTERN_REGISTRATIONS_PER_HOUR: undefined, LECTERN_TRUST_PROXY: '1' } });
    proxy = await startReverseProxy([server.url], { forwardedFor: true });
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
  });

  it('counts each client by the address the proxy saw, and a forged X-Forwarded-For in front of it changes nothing', async () => {
    expect(await registerMany(proxy.url, '127.0.0.4', DEFAULT_LIMIT)).toEqual(Array(DEFAULT_LIMIT).fill(201));
    expect((await register(proxy.url, '127.0.0.4')).status).toBe(429);
    // The client forges the header; the proxy appends the real address, which is what counts.
    expect((await register(proxy.url, '127.0.0.4', { 'x-forwarded-for': '198.51.100.7' })).status).toBe(429);
    expect((await register(proxy.url, '127.0.0.4', { 'x-forwarded-for': '198.51.100.7, 198.51.100.8' })).status).toBe(429);
    // Every client comes from the proxy's address, yet another client is not held back by the first one.
    expect((await register(proxy.url, '127.0.0.5')).status).toBe(201);
  });
});
