// Which origins may write and open sockets, and how the session cookie is marked, on the real server: with no
// LECTERN_ORIGIN (the default: the origin a request came to) and with a configured https origin (Secure
// cookies; only that origin passes the CSRF and Socket.io checks). A page on another origin sends what a browser
// lets it send without asking the server first (a "simple" request: form or text/plain body, the visitor's
// cookie); anything else needs a CORS preflight, which must not be granted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { socketOutcome } from '../helpers/socket-client.ts';

const EVIL = 'http://evil.example';
const PUBLIC_ORIGIN = 'https://class.example.org';

/** A write as a page on `origin` can make it without a preflight: JSON in a text/plain body, with the cookie. */
function simpleWrite(person: RegisteredUser, path: string, body: unknown, origin: string) {
  return person.client.request('POST', path, JSON.stringify(body), { 'content-type': 'text/plain;charset=UTF-8', origin });
}

async function courseTitles(person: RegisteredUser): Promise<string[]> {
  const res = await person.client.get('/api/courses?scope=teaching&pageSize=50');
  return (res.body.items as { title: string }[]).map((c) => c.title);
}

function sessionCookie(res: { headers: Headers }): string {
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('lectern_session='));
  if (!cookie) throw new Error('no session cookie was set');
  return cookie;
}

describe('origins and cookies with no LECTERN_ORIGIN (the default)', () => {
  let server: TestServer;
  let teacher: RegisteredUser;
  beforeAll(async () => {
    server = await startTestServer();
    teacher = await registerUser(server.url, 'teacher', 'Tess Teacher');
  });
  afterAll(() => server?.stop());

  it('refuses a write a page on another origin sends with the visitor cookie, and accepts it from our own origin', async () => {
    const refused = await simpleWrite(teacher, '/api/courses', { title: 'Planted by evil' }, EVIL);
    expect(refused.status).toBe(403);
    const form = await teacher.client.request('POST', '/api/auth/logout', 'a=1', {
      'content-type': 'application/x-www-form-urlencoded',
      origin: EVIL,
    });
    expect(form.status).toBe(403);
    // A browser says where a request comes from in Sec-Fetch-Site too: cross-site is refused whatever the Origin.
    const crossSite = await teacher.client.request('POST', '/api/courses', JSON.stringify({ title: 'Planted again' }), {
      'content-type': 'text/plain',
      'sec-fetch-site': 'cross-site',
    });
    expect(crossSite.status).toBe(403);
    // Nothing was written, and the session is still alive (the logout did not happen).
    expect((await teacher.client.get('/api/auth/me')).status).toBe(200);
    expect(await courseTitles(teacher)).not.toContain('Planted by evil');
    expect(await courseTitles(teacher)).not.toContain('Planted again');

    // The same simple write from the origin the server is reached at goes through.
    const ours = await simpleWrite(teacher, '/api/courses', { title: 'From our page' }, server.url);
    expect(ours.status).toBe(201);
    expect(await courseTitles(teacher)).toContain('From our page');
  });

  it('grants no CORS preflight to another origin, so a browser never sends it a JSON write', async () => {
    const res = await fetch(`${server.url}/api/courses`, {
      method: 'OPTIONS',
      headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('accepts sockets from the origin a request came to, or with no Origin (not a browser), and no other', async () => {
    expect(await socketOutcome(server.url, teacher, undefined)).toBe('connected');
    expect(await socketOutcome(server.url, teacher, server.url)).toBe('connected');
    expect(await socketOutcome(server.url, teacher, EVIL)).not.toBe('connected');
    expect(await socketOutcome(server.url, teacher, PUBLIC_ORIGIN)).not.toBe('connected');
  });

  it('keeps the session cookie HttpOnly and SameSite=Lax, not Secure over plain http', async () => {
    const client = new HttpClient(server.url);
    const res = await client.post('/api/auth/register', {
      email: `plain-${Date.now()}@example.test`,
      password: 'a long enough pw',
      displayName: 'Plain',
    });
    const cookie = sessionCookie(res);
    expect(cookie).toMatch(/;\s*HttpOnly/i);
    expect(cookie).toMatch(/;\s*SameSite=Lax/i);
    expect(cookie).not.toMatch(/;\s*Secure/i);
  });
});

describe('origins and cookies with LECTERN_ORIGIN on https', () => {
  let server: TestServer;
  let teacher: RegisteredUser;
  beforeAll(async () => {
    // Written with a trailing slash, as people paste it: the origin is what counts.
    server = await startTestServer({ env: { LECTERN_ORIGIN: `${PUBLIC_ORIGIN}/` } });
    teacher = await registerUser(server.url, 'teacher', 'Tess Teacher');
  });
  afterAll(() => server?.stop());

  it('marks the session cookie Secure when it is set, slid and cleared', async () => {
    const client = new HttpClient(server.url);
    const registered = await client.post('/api/auth/register', {
      email: `secure-${Date.now()}@example.test`,
      password: 'a long enough pw',
      displayName: 'Secure',
    });
    expect(registered.status).toBe(201);
    const set = sessionCookie(registered);
    expect(set).toMatch(/;\s*Secure/i);
    expect(set).toMatch(/;\s*HttpOnly/i);
    const loggedIn = await new HttpClient(server.url).post('/api/auth/login', {
      email: registered.body.user.email,
      password: 'a long enough pw',
    });
    expect(sessionCookie(loggedIn)).toMatch(/;\s*Secure/i);
    const cleared = await client.post('/api/auth/logout');
    expect(cleared.status).toBe(200);
    expect(sessionCookie(cleared)).toMatch(/;\s*Secure/i);
    expect(sessionCookie(cleared)).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/i);
  });

  it('accepts writes from the configured origin only, even from the address the server listens on', async () => {
    const ours = await simpleWrite(teacher, '/api/courses', { title: 'From the public origin' }, PUBLIC_ORIGIN);
    expect(ours.status).toBe(201);
    const direct = await simpleWrite(teacher, '/api/courses', { title: 'From the listening address' }, server.url);
    expect(direct.status).toBe(403);
    const evil = await simpleWrite(teacher, '/api/courses', { title: 'From evil' }, EVIL);
    expect(evil.status).toBe(403);
    const titles = await courseTitles(teacher);
    expect(titles).toContain('From the public origin');
    expect(titles).not.toContain('From the listening address');
    expect(titles).not.toContain('From evil');
  });

  it('opens sockets for the configured origin only', async () => {
    expect(await socketOutcome(server.url, teacher, PUBLIC_ORIGIN)).toBe('connected');
    expect(await socketOutcome(server.url, teacher, undefined)).toBe('connected');
    expect(await socketOutcome(server.url, teacher, server.url)).not.toBe('connected');
    expect(await socketOutcome(server.url, teacher, EVIL)).not.toBe('connected');
    expect(await socketOutcome(server.url, teacher, 'https://class.example.org.evil.example')).not.toBe('connected');
  });
});
