// A session's life on the real server, with time moved by editing its expiry in the database: past half its
// life it slides and the same token comes back in a fresh cookie (from the API and from a page), once; when it
// expires, the periodic purge deletes it and disconnects its open sockets, as does the first request that
// presents it, while the person's other sessions stay connected.
import { eq } from 'drizzle-orm';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionIdFromToken } from '../../server/auth/session-store.ts';
import { sessions } from '../../server/db/schema.ts';
import { HttpClient, registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { call, connectAs } from '../helpers/socket-client.ts';

const DAY = 24 * 3600_000;

function tokenOf(person: RegisteredUser): string {
  return /lectern_session=([^;]+)/.exec(person.client.cookieHeader)![1]!;
}

/** The session cookie a response sets: its token, and when it expires (0 for a cookie being cleared). */
function sessionCookie(headers: Headers): { token: string; expires: number } | undefined {
  const cookie = headers.getSetCookie().find((c) => c.startsWith('lectern_session='));
  if (!cookie) return undefined;
  const token = /^lectern_session=([^;]*)/.exec(cookie)![1]!;
  if (/Max-Age=0/i.test(cookie)) return { token, expires: 0 };
  return { token, expires: Date.parse(/Expires=([^;]+)/i.exec(cookie)![1]!) };
}

function disconnectReason(socket: Socket): Promise<string> {
  return new Promise((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
}

async function setExpiry(server: TestServer, token: string, at: number): Promise<void> {
  await server.db
    .update(sessions)
    .set({ expiresAt: new Date(at) })
    .where(eq(sessions.id, sessionIdFromToken(token)));
}

async function storedExpiry(server: TestServer, token: string): Promise<number | undefined> {
  const [row] = await server.db
    .select()
    .from(sessions)
    .where(eq(sessions.id, sessionIdFromToken(token)));
  return row?.expiresAt.getTime();
}

/** The same person logged in from `count` devices, each with its own session and an open socket. */
async function devices(server: TestServer, count: number): Promise<{ person: RegisteredUser; socket: Socket }[]> {
  const first = await registerUser(server.url, 'student', 'Many Devices');
  const people = [first];
  for (let i = 1; i < count; i++) {
    const client = new HttpClient(server.url);
    expect((await client.post('/api/auth/login', { email: first.user.email, password: first.password })).status).toBe(200);
    people.push({ ...first, client });
  }
  return Promise.all(people.map(async (person) => ({ person, socket: await connectAs(server.url, person) })));
}

describe('session lifetime with the default (hourly) purge', () => {
  let server: TestServer;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    server = await startTestServer({ app: 'build' });
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await server?.stop();
  });

  it('re-issues the same token with a new expiry once past half its life, from the API and from a page', async () => {
    const person = await registerUser(server.url, 'student', 'Sliding Student');
    const token = tokenOf(person);
    const lifetime = 30 * DAY;

    // Fresh: requests send no cookie back.
    expect(sessionCookie((await person.client.get('/api/auth/me')).headers)).toBeUndefined();

    // Ten days left of thirty: the next API request slides it.
    await setExpiry(server, token, Date.now() + 10 * DAY);
    const before = Date.now();
    const slid = await person.client.get('/api/auth/me');
    expect(slid.status).toBe(200);
    const cookie = sessionCookie(slid.headers);
    expect(cookie?.token).toBe(token);
    expect(cookie!.expires).toBeGreaterThanOrEqual(Math.floor((before + lifetime) / 1000) * 1000);
    expect(cookie!.expires).toBeLessThanOrEqual(Date.now() + lifetime);
    expect(Math.abs(cookie!.expires - (await storedExpiry(server, token))!)).toBeLessThan(1000);
    // Once: the next request finds it fresh again.
    expect(sessionCookie((await person.client.get('/api/auth/me')).headers)).toBeUndefined();

    // A page load (SvelteKit) slides it the same way.
    await setExpiry(server, token, Date.now() + 5 * DAY);
    const page = await fetch(`${server.url}/`, { headers: { cookie: person.client.cookieHeader } });
    expect(page.status).toBe(200);
    const pageCookie = sessionCookie(page.headers);
    expect(pageCookie?.token).toBe(token);
    expect(pageCookie!.expires).toBeGreaterThan(Date.now() + 29 * DAY);
  });

  it('refuses a request with an expired session, clears its cookie and disconnects its sockets at once', async () => {
    const [laptop, phone] = await devices(server, 2);
    sockets.push(laptop!.socket, phone!.socket);
    const gone = disconnectReason(laptop!.socket);
    const token = tokenOf(laptop!.person);
    await setExpiry(server, token, Date.now() - 1000);
    const refused = await laptop!.person.client.get('/api/auth/me');
    expect(refused.status).toBe(401);
    expect(sessionCookie(refused.headers)).toEqual({ token: '', expires: 0 }); // the dead cookie is cleared
    expect(await gone).toBe('io server disconnect');
    expect(await storedExpiry(server, token)).toBeUndefined();
    // The other session of the same person is untouched.
    expect(phone!.socket.connected).toBe(true);
    expect((await call(phone!.socket, 'class:leave')).ok).toBe(true);
  });
});

describe('session purge', () => {
  let server: TestServer;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Every second instead of every hour, so that the test need not wait an hour.
    server = await startTestServer({ env: { LECTERN_SESSION_PURGE_SECONDS: '1' } });
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await server?.stop();
  });

  it('deletes a session that ran out while only its socket was open, and disconnects that socket alone', async () => {
    const [laptop, phone] = await devices(server, 2);
    sockets.push(laptop!.socket, phone!.socket);
    const gone = disconnectReason(laptop!.socket);
    await setExpiry(server, tokenOf(laptop!.person), Date.now() - 1000);
    expect(await gone).toBe('io server disconnect');
    expect(await storedExpiry(server, tokenOf(laptop!.person))).toBeUndefined();
    expect((await laptop!.person.client.get('/api/auth/me')).status).toBe(401);
    expect(phone!.socket.connected).toBe(true);
    expect((await call(phone!.socket, 'class:leave')).ok).toBe(true);
    expect((await phone!.person.client.get('/api/auth/me')).status).toBe(200);
  });
});
