// Every answer carries the security headers: pages (with SvelteKit's CSP and its nonce), the app's static files,
// the API and health; HSTS only when the public origin is https.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

function expectCommonHeaders(headers: Headers): void {
  expect(headers.get('x-content-type-options')).toBe('nosniff');
  expect(headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
  expect(headers.get('x-frame-options')).toBe('DENY');
  const permissions = headers.get('permissions-policy') ?? '';
  for (const feature of ['camera', 'microphone', 'display-capture']) expect(permissions).toContain(`${feature}=(self)`);
  expect(permissions).toContain('geolocation=()');
}

describe('security headers over http', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ app: 'build' });
  });
  afterAll(() => server?.stop());

  it('a page: CSP with a nonce for its scripts, never framed, and the common headers', async () => {
    const res = await fetch(`${server.url}/login`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expectCommonHeaders(res.headers);
    const csp = res.headers.get('content-security-policy') ?? '';
    const nonce = /script-src 'self' 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    // The nonce is the one on the page's own inline script, and fresh on every answer.
    expect(html).toContain(`nonce="${nonce}"`);
    for (const directive of ["default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'self'"])
      expect(csp).toContain(directive);
    const again = await fetch(`${server.url}/login`);
    expect(again.headers.get('content-security-policy')).not.toContain(nonce);
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });

  it('a static file of the app, a JSON answer, /health and a 404 carry them too; data answers allow nothing', async () => {
    const html = await (await fetch(`${server.url}/login`)).text();
    const asset = /(\/_app\/immutable\/[^"]+\.js)/.exec(html)?.[1];
    expect(asset).toBeTruthy();
    const assetRes = await fetch(server.url + asset);
    expect(assetRes.status).toBe(200);
    expectCommonHeaders(assetRes.headers);

    for (const path of ['/api/auth/me', '/health', '/api/no-such-thing']) {
      const res = await fetch(server.url + path);
      expect([path, res.headers.get('content-type')]).toEqual([path, expect.stringContaining('application/json')]);
      expectCommonHeaders(res.headers);
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    }
  });
});

describe('security headers with an https public origin', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { LECTERN_ORIGIN: 'https://class.example.test' } });
  });
  afterAll(() => server?.stop());

  it('tells browsers to use https only (HSTS)', async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000');
    expectCommonHeaders(res.headers);
  });
});
