// A server process whose parts go missing, seen from outside (HTTP, Socket.io, its JSON log lines on stdout):
// the PostgreSQL database stops taking connections mid-run, then comes back; ffmpeg is not installed. /health
// turns 503 and says which part is down, requests fail with a clear error that leaks nothing, and every failure is
// logged at error (or warn) level with what an operator needs; so is a mediasoup worker that dies.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_URL, createScratchDatabase } from '../helpers/databases.ts';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { serverEnv, ServerProcess } from '../helpers/server-process.ts';
import { socketOutcome } from '../helpers/socket-client.ts';

const ERROR = 50;
const WARN = 40;
const INFO = 30;

const TOKEN = 'outage-test-token-0123456789';

/** The detailed /health (with the operator's token). */
async function health(server: ServerProcess): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: await res.json() };
}

describe('the PostgreSQL database going down and coming back', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-outage-'));
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let databaseName: string;
  let admin: ReturnType<typeof postgres>;
  let server: ServerProcess;
  let student: RegisteredUser;

  /** Refuses new connections to the scratch database and ends the server's open ones (or lets them in again). */
  async function setDatabaseUp(up: boolean): Promise<void> {
    await admin.unsafe(`alter database ${databaseName} with allow_connections ${up}`);
    if (!up) await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${databaseName}`;
  }

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    databaseName = new URL(scratch.url).pathname.slice(1);
    admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    server = await ServerProcess.start({
      ...serverEnv({ dataDir, databaseUrl: scratch.url }),
      LOG_LEVEL: 'info',
      LECTERN_METRICS_TOKEN: TOKEN,
    });
    student = await registerUser(server.url, 'student', 'Patient Student');
  });
  afterAll(async () => {
    await setDatabaseUp(true).catch(() => {});
    await server?.stop();
    await admin?.end();
    await scratch?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 on /health and a plain 500 elsewhere, logs each failure, and recovers by itself', async () => {
    expect((await health(server)).status).toBe(200);
    await setDatabaseUp(false);

    const down = await health(server);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'degraded', database: { ok: false, kind: 'postgres' } });
    expect(down.body.workers.alive).toBe(1); // the rest is reported as it is
    expect(down.body.ffmpeg.found).toBe(true);
    // Without the token: the status and nothing else; a load balancer takes it out of rotation.
    const anonymous = await fetch(`${server.url}/health`);
    expect([anonymous.status, await anonymous.json()]).toEqual([503, { status: 'degraded' }]);
    const ready = await fetch(`${server.url}/health/ready`);
    expect([ready.status, await ready.json()]).toEqual([503, { status: 'not_ready' }]);

    // A request that needs the database: a clear, generic error for the user, the cause in the log.
    const me = await student.client.get('/api/auth/me');
    expect(me.status).toBe(500);
    expect(me.body).toEqual({ error: { code: 'internal', message: 'Something went wrong on our side' } });
    expect(JSON.stringify(me.body)).not.toContain(databaseName);
    const logged = await server.waitForLog((l) => l.level === ERROR && l.msg === 'request failed' && l.path === '/api/auth/me');
    // The cause is in the log (which of PostgreSQL's refusals it met first varies), with where it happened.
    expect(logged.err).toMatchObject({ message: expect.stringMatching(/\S/), stack: expect.stringMatching(/\S/) });
    // The line names its request: the id the answer carried in X-Request-Id.
    expect(logged.reqId).toBe(me.headers.get('x-request-id'));
    expect(logged.reqId).toMatch(/^[0-9a-f-]{36}$/);
    // A request id given by a proxy is kept, and a class's route adds the class id to its lines.
    const classId = crypto.randomUUID();
    const schedule = await student.client.request('GET', `/api/classes/${classId}/schedule`, undefined, { 'x-request-id': 'proxy-req-42' });
    expect([schedule.status, schedule.headers.get('x-request-id')]).toEqual([500, 'proxy-req-42']);
    const classLine = await server.waitForLog((l) => l.msg === 'request failed' && l.reqId === 'proxy-req-42');
    expect(classLine).toMatchObject({ level: ERROR, classId, path: `/api/classes/${classId}/schedule` });

    // A socket cannot be authenticated either: refused with the same generic word, and logged.
    expect(await socketOutcome(server.url, student)).toBe('internal');
    await server.waitForLog((l) => l.level === ERROR && l.msg === 'socket authentication failed');

    // The database comes back: the same process answers again, with the same session.
    await setDatabaseUp(true);
    await expect.poll(async () => (await health(server)).status, { timeout: 15_000 }).toBe(200);
    expect((await student.client.get('/api/auth/me')).body.user.id).toBe(student.user.id);
    expect(await socketOutcome(server.url, student)).toBe('connected');
  });

  it('logs a mediasoup worker that dies and the one that replaces it', async () => {
    const [worker] = (await health(server)).body.workers.workers as { index: number; pid: number }[];
    process.kill(worker!.pid, 'SIGKILL');
    const died = await server.waitForLog((l) => l.level === ERROR && /mediasoup worker died/.test(l.msg));
    expect(died).toMatchObject({ index: worker!.index, pid: worker!.pid });
    const replaced = await server.waitForLog((l) => l.level === INFO && l.msg === 'mediasoup worker replaced');
    expect(replaced.pid).not.toBe(worker!.pid);
    await expect.poll(async () => (await health(server)).body.workers.alive).toBe(1);
    expect((await health(server)).body.workers.workers[0].pid).toBe(replaced.pid);
  });
});

describe('ffmpeg missing', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-noffmpeg-'));
  let server: ServerProcess;
  beforeAll(async () => {
    server = await ServerProcess.start({
      ...serverEnv({ dataDir }),
      LOG_LEVEL: 'info',
      LECTERN_METRICS_TOKEN: TOKEN,
      FFMPEG_PATH: path.join(dataDir, 'no-ffmpeg-here'),
    });
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts, warns in the log, answers 503 on /health, and refuses uploads with a clear reason', async () => {
    const warned = await server.waitForLog((l) => l.level === WARN && /ffmpeg not found/.test(l.msg));
    expect(warned.path).toBe(path.join(dataDir, 'no-ffmpeg-here'));

    const res = await health(server);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'degraded', database: { ok: true }, ffmpeg: { found: false, version: null } });
    expect(res.body.workers.alive).toBe(1);

    // Everything else still works: a teacher makes a course and a lesson, but its video cannot be processed.
    const teacher = await registerUser(server.url, 'teacher', 'Tess Teacher');
    const courseId = (await teacher.client.post('/api/courses', { title: 'No video here' })).body.course.id;
    const lessonId = (await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'One' })).body.lesson.id;
    const upload = await teacher.client.request('PUT', `/api/lessons/${lessonId}/video`, 'not even read', {
      'content-type': 'video/mp4',
    });
    expect(upload.status).toBe(503);
    expect(upload.body.error).toMatchObject({ code: 'ffmpeg_missing', message: 'Video processing is not available on this server' });
  });
});
