// Auth over real HTTP against the real server, on PGlite and on the PostgreSQL server.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionStore, sessionIdFromToken } from '../../server/auth/session-store.ts';
import { sessions, users } from '../../server/db/schema.ts';
import { dbKinds } from '../helpers/databases.ts';
import { HttpClient, registerUser } from '../helpers/http-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe.each(await dbKinds())('auth API on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ db: kind });
  });
  afterAll(() => server?.stop());

  const email = () => `someone-${Math.random().toString(36).slice(2)}@example.test`;

  it('registers, keeps the session in an HttpOnly SameSite cookie and stores only the token hash', async () => {
    const client = new HttpClient(server.url);
    const res = await client.post('/api/auth/register', { email: email(), password: 'a long enough pw', displayName: 'Ada' });
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({ displayName: 'Ada', role: 'student' });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('lectern_session='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const token = /lectern_session=([^;]+)/.exec(cookie)![1]!;
    const rows = await server.db.select().from(sessions).where(eq(sessions.userId, res.body.user.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).toBe(sessionIdFromToken(token));
    expect(rows[0]!.id).not.toContain(token);
    const me = await client.get('/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(res.body.user.id);
  });

  it('stores argon2id hashes, never the password', async () => {
    const { user } = await registerUser(server.url);
    const [row] = await server.db.select().from(users).where(eq(users.id, user.id));
    expect(row!.passwordHash).toMatch(/^\$argon2id\$/);
  });

  it('refuses a second account with the same email, whatever its case', async () => {
    const e = email();
    const a = await new HttpClient(server.url).post('/api/auth/register', { email: e, password: 'a long enough pw', displayName: 'A' });
    expect(a.status).toBe(201);
    const b = await new HttpClient(server.url).post('/api/auth/register', {
      email: e.toUpperCase(),
      password: 'a long enough pw',
      displayName: 'B',
    });
    expect(b.status).toBe(409);
    expect(b.body.error.code).toBe('email_taken');
  });

  it('logs in with the right password and refuses a wrong one with the same message as an unknown email', async () => {
    const { user, password } = await registerUser(server.url);
    const ok = await new HttpClient(server.url).post('/api/auth/login', { email: user.email, password });
    expect(ok.status).toBe(200);
    expect(ok.body.user.id).toBe(user.id);
    const wrong = await new HttpClient(server.url).post('/api/auth/login', { email: user.email, password: 'not the password' });
    expect(wrong.status).toBe(401);
    const unknown = await new HttpClient(server.url).post('/api/auth/login', { email: email(), password: 'whatever123' });
    expect(unknown.status).toBe(401);
    expect(unknown.body.error.message).toBe(wrong.body.error.message);
  });

  it('rate-limits failed logins per IP and email, and a different email is not affected', async () => {
    const { user, password } = await registerUser(server.url);
    const client = new HttpClient(server.url);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await client.post('/api/auth/login', { email: user.email, password: 'bad password' })).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[5]).toBe(429);
    const limited = await client.post('/api/auth/login', { email: user.email, password });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const other = await registerUser(server.url);
    expect((await new HttpClient(server.url).post('/api/auth/login', { email: other.user.email, password: other.password })).status).toBe(
      200,
    );
  });

  it('limits how many accounts one address creates per hour', async () => {
    const limited = await startTestServer({ db: kind, env: { LECTERN_REGISTRATIONS_PER_HOUR: '2' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await new HttpClient(limited.url).post('/api/auth/register', {
          email: email(),
          password: 'a long enough pw',
          displayName: `R${i}`,
        });
        statuses.push(res.status);
        if (res.status === 429) {
          expect(res.body.error.code).toBe('rate_limited');
          expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        }
      }
      expect(statuses).toEqual([201, 201, 429]);
    } finally {
      await limited.stop();
    }
  });

  it('logs out: the session row is gone and the old cookie no longer works', async () => {
    const { client } = await registerUser(server.url);
    const stolen = client.cookieHeader;
    expect((await client.post('/api/auth/logout')).status).toBe(200);
    expect((await client.get('/api/auth/me')).status).toBe(401);
    const replay = await new HttpClient(server.url).request('GET', '/api/auth/me', undefined, { cookie: stolen });
    expect(replay.status).toBe(401);
  });

  it('expires sessions server-side', async () => {
    const { client, user } = await registerUser(server.url);
    await server.db
      .update(sessions)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(sessions.userId, user.id));
    const me = await client.get('/api/auth/me');
    expect(me.status).toBe(401);
    expect(await new SessionStore(server.db, { days: 30 }).countActive(user.id)).toBe(0);
  });

  it('slides a session past half its life and drops it after its lifetime', async () => {
    const { user } = await registerUser(server.url);
    let now = Date.now();
    const store = new SessionStore(server.db, { days: 30, now: () => now });
    const { token, session } = await store.create(user.id);
    now += 16 * 24 * 3600_000;
    const slid = await store.validate(token);
    expect(slid?.refreshed).toBe(true);
    expect(slid!.session.expiresAt.getTime()).toBeGreaterThan(session.expiresAt.getTime());
    now += 31 * 24 * 3600_000;
    expect(await store.validate(token)).toBeNull();
    expect(await store.validate('not-a-token')).toBeNull();
  });

  it('gives roles: teacher by choice, admin never by self-registration', async () => {
    const teacher = await registerUser(server.url, 'teacher');
    expect(teacher.user.role).toBe('teacher');
    const res = await new HttpClient(server.url).post('/api/auth/register', {
      email: email(),
      password: 'a long enough pw',
      displayName: 'Eve',
      role: 'admin',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_input');
    expect(res.body.error.issues[0].path).toBe('role');
  });

  it('answers bad input with 400 and a message naming the field', async () => {
    const client = new HttpClient(server.url);
    const bad = await client.post('/api/auth/register', { email: 'not-an-email', password: 'short', displayName: '' });
    expect(bad.status).toBe(400);
    const paths = bad.body.error.issues.map((i: { path: string }) => i.path).sort();
    expect(paths).toEqual(['displayName', 'email', 'password']);
    expect(bad.body.error.message).toMatch(/password: Password must be at least 10 characters/);
    const types = await client.post('/api/auth/login', { email: 42, password: ['x'] });
    expect(types.status).toBe(400);
    const json = await client.request('POST', '/api/auth/login', '{"email": ', {});
    expect(json.status).toBe(400);
    expect(json.body.error.code).toBe('invalid_json');
    const huge = await client.post('/api/auth/login', { email: 'a@b.org', password: 'x'.repeat(100_000) });
    expect(huge.status).toBe(413);
    expect((await client.get('/api/auth/me')).status).toBe(401);
    expect((await client.get('/api/nowhere')).status).toBe(404);
  });
});
