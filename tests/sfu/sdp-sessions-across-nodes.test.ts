// WHIP and WHEP sessions answered by any node: two Lectern processes sharing PostgreSQL, Redis and the media
// secret, as behind a load balancer that sends each request wherever it likes. A session made on node A is
// recorded in Redis; its DELETE or PATCH sent to node B is relayed to A with the client's credentials (A checks
// them again) and A's answer comes back: the encoder's session ends on A, the player's too; PATCH stays 405 as
// A answers it; the POST's relative Location works against either node. The teacher's studio on B sees the
// encoder publishing on A (the class's origin), and ends it there (its button, or a new stream key). Through a
// round-robin load balancer, the POST's relative Location reaches the session wherever its DELETE lands. A request already relayed is answered
// where it lands, never relayed again; an unknown session is 404; once A is killed, its session is 404 on B
// with why.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { insertClass } from '../helpers/live-class.ts';
import { startProcessPair, type ProcessPair } from '../helpers/process-pair.ts';
import { encoderOffer } from './whip-clients.ts';
import { viewerOffer } from './whep-clients.ts';
import { startReverseProxy } from '../helpers/reverse-proxy.ts';

let pair: ProcessPair;
let teacher: RegisteredUser;
let student: RegisteredUser;
let classId: string;
let key: string;

beforeAll(async () => {
  pair = await startProcessPair('sdp-sessions', { LOG_LEVEL: 'info', LECTERN_MEDIA_SECRET: crypto.randomBytes(24).toString('base64url') });
  [teacher, student] = await Promise.all([registerUser(pair.a.url, 'teacher', 'Teacher'), registerUser(pair.a.url, 'student', 'Viewer')]);
  ({ classId } = await insertClass(pair.database.db, {
    teacherId: teacher.user.id,
    studentIds: [student.user.id],
    title: 'Sessions on any node',
    courseTitle: 'Two nodes',
    live: false,
  }));
  const made = await teacher.client.post(`/api/classes/${classId}/stream-key`);
  expect(made.status).toBe(201);
  key = made.body.key as string;
}, 120_000);
afterAll(async () => {
  await pair?.stop();
});

/** The encoder publishes on node A: the session's Location (relative, as the POST answers it). */
async function publishOnA(): Promise<string> {
  const res = await fetch(`${pair.a.url}/api/classes/${classId}/whip`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
    body: encoderOffer(),
  });
  expect(res.status).toBe(201);
  const location = res.headers.get('location')!;
  expect(location).toMatch(new RegExp(`^/api/classes/${classId}/whip/[0-9a-f-]{36}$`));
  return location;
}

/** A request to the session's Location resolved against `node` (where a load balancer might send it). */
const at = (node: string, location: string, init: { method: string; bearer?: string; headers?: Record<string, string> }) =>
  fetch(new URL(location, node), {
    method: init.method,
    headers: { ...(init.bearer ? { authorization: `Bearer ${init.bearer}` } : {}), ...init.headers },
  });
const errorOf = async (res: Response) => ((await res.json()) as { error: { code: string; message: string } }).error;
const sessionIdOf = (location: string) => location.split('/').at(-1)!;
const encoderSession = async () => (await teacher.client.get(`/api/classes/${classId}/encoder`)).body.session as { id: string } | null;

describe('WHIP and WHEP sessions on any node', () => {
  it('takes an encoder through a round-robin load balancer: the POST lands on A, the DELETE of its Location on B', async () => {
    const balancer = await startReverseProxy([pair.a.url, pair.b.url]);
    try {
      const posted = await fetch(`${balancer.url}/api/classes/${classId}/whip`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
        body: encoderOffer(),
      });
      expect(posted.status).toBe(201);
      expect(posted.headers.get('x-lectern-node')).toBe('node-1');
      const location = posted.headers.get('location')!;
      expect(location.startsWith('/')).toBe(true);
      const deleted = await at(balancer.url, location, { method: 'DELETE', bearer: key });
      expect(deleted.status).toBe(200);
      expect(deleted.headers.get('x-lectern-node')).toBe('node-2');
      expect(deleted.headers.get('x-lectern-answered-by')).toBe('node-1');
      const closed = await pair.a.waitForLog((l) => l.msg === 'WHIP session closed' && l.whipSessionId === sessionIdOf(location));
      expect(closed.reason).toBe('deleted');
    } finally {
      await balancer.close();
    }
  }, 60_000);

  it('ends an encoder session made on A from a DELETE on B; PATCH stays 405; relayed requests are not relayed again', async () => {
    const location = await publishOnA();
    const id = sessionIdOf(location);
    expect((await encoderSession())?.id).toBe(id);

    // PATCH through B: A's own answer (405, what it allows), relayed.
    const patched = await at(pair.b.url, location, {
      method: 'PATCH',
      bearer: key,
      headers: { 'content-type': 'application/trickle-ice-sdpfrag' },
    });
    expect(patched.status).toBe(405);
    expect(patched.headers.get('x-lectern-answered-by')).toBe('node-1');
    expect(patched.headers.get('allow')).toBe('DELETE, OPTIONS');
    expect((await errorOf(patched)).code).toBe('method_not_allowed');

    // A request another node already relayed is answered by B itself, which does not hold the session.
    const marked = await at(pair.b.url, location, { method: 'DELETE', bearer: key, headers: { 'x-lectern-relayed': 'node-x' } });
    expect(marked.status).toBe(404);
    expect(marked.headers.get('x-lectern-answered-by')).toBeNull();
    expect((await encoderSession())?.id).toBe(id);

    // A checks the key again: a wrong one is refused there.
    const wrong = await at(pair.b.url, location, { method: 'DELETE', bearer: `lsk_${'x'.repeat(43)}` });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('x-lectern-answered-by')).toBe('node-1');
    expect((await encoderSession())?.id).toBe(id);

    // The encoder's DELETE lands on B: A closes the session (its producers with it).
    const deleted = await at(pair.b.url, location, { method: 'DELETE', bearer: key });
    expect(deleted.status).toBe(200);
    expect(deleted.headers.get('x-lectern-answered-by')).toBe('node-1');
    const closed = await pair.a.waitForLog((l) => l.msg === 'WHIP session closed' && l.whipSessionId === id);
    expect(closed.reason).toBe('deleted');
    expect(await encoderSession()).toBeNull();
    // Sent again (an encoder retrying): still 200 from A, which remembers the session ended.
    expect((await at(pair.b.url, location, { method: 'DELETE', bearer: key })).status).toBe(200);

    // A session no node holds: 404 on either node.
    const unknown = `/api/classes/${classId}/whip/${crypto.randomUUID()}`;
    for (const node of [pair.a.url, pair.b.url]) expect((await at(node, unknown, { method: 'DELETE', bearer: key })).status).toBe(404);
  }, 60_000);

  it("shows the teacher's studio on B the encoder publishing on A, and ends it from B (the button, and a new key)", async () => {
    /** The teacher's studio asking node B, with their cookie (and B's origin, as the page sends it). */
    const studioOnB = (path: string, init: { method?: string; json?: unknown } = {}) =>
      fetch(`${pair.b.url}/api/classes/${classId}/${path}`, {
        method: init.method ?? 'GET',
        headers: {
          cookie: teacher.client.cookieHeader,
          origin: pair.b.url,
          ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
      });
    const first = sessionIdOf(await publishOnA());
    const view = (await (await studioOnB('encoder')).json()) as { whipUrl: string; session: { id: string; connected: boolean } | null };
    expect(view.whipUrl).toBe(`${pair.b.url}/api/classes/${classId}/whip`);
    expect(view.session).toMatchObject({ id: first, connected: false });

    // A new key made on B revokes the old one: the encoder publishing with it on A stops.
    const made = await studioOnB('stream-key', { method: 'POST', json: {} });
    expect(made.status).toBe(201);
    key = ((await made.json()) as { key: string }).key;
    await pair.a.waitForLog((l) => l.msg === 'WHIP session closed' && l.whipSessionId === first);
    expect(await encoderSession()).toBeNull();

    // The studio's "End encoder broadcast" on B ends the session on A.
    const second = sessionIdOf(await publishOnA());
    const ended = await studioOnB('encoder', { method: 'DELETE' });
    expect(ended.status).toBe(200);
    expect(ended.headers.get('x-lectern-answered-by')).toBe('node-1');
    expect(await ended.json()).toEqual({ ended: true });
    const closed = await pair.a.waitForLog((l) => l.msg === 'WHIP session closed' && l.whipSessionId === second);
    expect(closed.reason).toBe('deleted');
    expect(((await (await studioOnB('encoder')).json()) as { session: unknown }).session).toBeNull();
  }, 60_000);

  it('ends a WHEP player session made on A from a DELETE on B, PATCH relayed as 405; once A is killed, its session is 404 on B', async () => {
    const whipLocation = await publishOnA();
    // B does not stream the class: the live view (and the student's media token) comes from A, the class's origin.
    const view = await fetch(`${pair.b.url}/api/media/classes/${classId}/live`, { headers: { cookie: student.client.cookieHeader } });
    expect(view.status).toBe(200);
    expect(view.headers.get('x-lectern-answered-by')).toBe('node-1');
    const { token } = (await view.json()) as { token: string };

    const played = await fetch(`${pair.a.url}/api/classes/${classId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
      body: viewerOffer(),
    });
    expect(played.status).toBe(201);
    const location = played.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^/api/classes/${classId}/whep/[0-9a-f-]{36}$`));
    const id = sessionIdOf(location);

    const patched = await at(pair.b.url, location, { method: 'PATCH', bearer: token });
    expect(patched.status).toBe(405);
    expect(patched.headers.get('x-lectern-answered-by')).toBe('node-1');

    // The player's DELETE lands on B: A closes the session (its transport and consumers with it).
    const deleted = await at(pair.b.url, location, { method: 'DELETE', bearer: token });
    expect(deleted.status).toBe(200);
    expect(deleted.headers.get('x-lectern-answered-by')).toBe('node-1');
    const closed = await pair.a.waitForLog((l) => l.msg === 'WHEP session closed' && l.whepSessionId === id);
    expect(closed.reason).toBe('deleted');

    // A player on our own pages leaves with its cookie (and the page's origin): relayed the same way.
    const withCookie = await fetch(`${pair.a.url}/api/classes/${classId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', cookie: student.client.cookieHeader },
      body: viewerOffer(),
    });
    expect(withCookie.status).toBe(201);
    const cookieLocation = withCookie.headers.get('location')!;
    const left = await at(pair.b.url, cookieLocation, {
      method: 'DELETE',
      headers: { cookie: student.client.cookieHeader, origin: pair.b.url },
    });
    expect(left.status).toBe(200);
    expect(left.headers.get('x-lectern-answered-by')).toBe('node-1');
    await pair.a.waitForLog((l) => l.msg === 'WHEP session closed' && l.whepSessionId === sessionIdOf(cookieLocation));

    // A dies with the encoder's session open: B first cannot reach it (503), then knows it is gone (404, why).
    pair.a.child.kill('SIGKILL');
    const answers: string[] = [];
    await expect
      .poll(
        async () => {
          const res = await at(pair.b.url, whipLocation, { method: 'DELETE', bearer: key });
          answers.push(`${res.status} ${(await errorOf(res)).code}`);
          return res.status;
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBe(404);
    // Until B drops A from the cluster it cannot reach it (try again); then the session is gone with its node.
    expect(answers.at(-1)).toBe('404 session_gone');
    expect(answers.slice(0, -1).every((a) => a === '503 node_unreachable')).toBe(true);
  }, 90_000);
});
