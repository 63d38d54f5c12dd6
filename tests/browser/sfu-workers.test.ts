// The SFU as deployed: the product's default worker count (one mediasoup worker per core) and its default fixed
// WebRTC port (40000, worker i on 40000 + i). Classes spread over the workers. A worker process killed in the
// middle of a class: the class's clients are told (sfu:reset), rebuild their media and decode again; the
// replacement worker binds the same fixed port; the other class on the other worker goes on untouched; the
// recording made so far is finalised (a replay) and the class records on into it through its new room's bridge.
import dgram from 'node:dgram';
import os from 'node:os';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClassroomRoom } from '../../server/sfu/classroom-room.ts';
import type { PooledWorker } from '../../server/sfu/worker-pool.ts';
import { contextAs, launchChromium, teacherVideoFrames } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { joinAs, ok, record } from '../helpers/socket-client.ts';
import { createLiveClass, goLiveWithSendTransport, produceFake, type ClassFixture } from '../sfu/fixtures.ts';

/** LECTERN_RTC_PORT's default (README): worker i listens on it + i. */
const DEFAULT_RTC_PORT = 40000;

let server: TestServer;
let browser: Browser;
const sockets: Socket[] = [];
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [server, browser] = await Promise.all([
    // Undefined: the product's defaults for the worker count and the RTC port, not the harness's fast ones.
    startTestServer({ app: 'build', env: { LECTERN_WORKERS: undefined, LECTERN_RTC_PORT: undefined } }),
    launchChromium(),
  ]);
});
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await browser?.close();
  await server?.stop();
});

/** Whether 127.0.0.1:`port` (UDP) is taken: binding it ourselves fails with EADDRINUSE. */
async function udpPortTaken(port: number): Promise<boolean> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.close();
      if (err.code === 'EADDRINUSE') resolve(true);
      else reject(err);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(false)));
  });
}

/** The pooled worker that carries a room's router. */
async function workerOf(room: ClassroomRoom): Promise<PooledWorker> {
  for (const w of server.workers.all()) if ((await w.worker.dump()).routerIds.includes(room.router.id)) return w;
  throw new Error(`no live worker carries the router of class ${room.classId}`);
}

async function pageOf(person: ClassFixture['teacher'], url: string): Promise<Page> {
  const context = await contextAs(browser, server.url, person, { viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

describe('mediasoup workers with the default count and ports', () => {
  it('starts one worker per core, each on its own fixed port', async () => {
    const workers = server.workers.all();
    expect(workers).toHaveLength(os.availableParallelism());
    expect(workers.map((w) => w.port)).toEqual(workers.map((_, i) => DEFAULT_RTC_PORT + i));
    for (const w of workers) {
      const dump = await w.webRtcServer.dump();
      expect(dump.udpSockets.map((s) => s.port)).toEqual([DEFAULT_RTC_PORT + w.index]);
      expect(dump.tcpServers.map((s) => s.port)).toEqual([DEFAULT_RTC_PORT + w.index]);
      expect(await udpPortTaken(w.port)).toBe(true);
    }
  });

  it('spreads classes over the workers; a killed worker resets its class, which rebuilds, decodes and records on', async () => {
    expect(os.availableParallelism()).toBeGreaterThanOrEqual(2); // CI and the team's machines have 2 cores
    // Class A in Chromium (studio and a student's page), with one more student on a socket to see its pushes.
    const a = await createLiveClass(server, { students: 2, title: 'Class on the worker that dies' });
    const teacher = await pageOf(a.teacher, `${server.url}/studio/${a.classId}`);
    await teacher.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    await expect.poll(() => teacher.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');
    const student = await pageOf(a.students[0]!, `${server.url}/classes/${a.classId}`);
    await expect.poll(() => teacherVideoFrames(student), { timeout: 30_000 }).toBeGreaterThan(10);
    const watcherA = await joinAs(server.url, a.students[1]!, a.classId);
    sockets.push(watcherA);
    const rtp = await ok(watcherA, 'sfu:getRouterRtpCapabilities', {});
    await ok(watcherA, 'sfu:join', { rtpCapabilities: rtp.routerRtpCapabilities });
    const resetsA = record(watcherA, 'sfu:reset');

    // Class B on sockets: its teacher publishes (a fake camera: no media needed to hold a router).
    const b = await createLiveClass(server, { title: 'Class on the other worker' });
    const teacherB = await joinAs(server.url, b.teacher, b.classId);
    sockets.push(teacherB);
    const { send } = await goLiveWithSendTransport(teacherB);
    await produceFake(teacherB, send.id, 'camera');
    const resetsB = record(teacherB, 'sfu:reset');

    const roomA = server.rooms.get(a.classId)!;
    const roomB = server.rooms.get(b.classId)!;
    const workerA = await workerOf(roomA);
    const workerB = await workerOf(roomB);
    expect(workerA.index).not.toBe(workerB.index);

    // The class is on HLS and recording.
    await expect.poll(() => server.liveHls.status(a.classId), { timeout: 60_000, interval: 250 }).toBe('live');
    const firstRecording = server.liveHls.recordingOf(a.classId)!;
    expect((await server.recordings.byId(firstRecording))?.status).toBe('recording');
    const bridgeBefore = server.liveHls.bridge(a.classId)!;
    const runsBefore = [...bridgeBefore.runIds];
    expect(runsBefore.length).toBeGreaterThan(0);
    // Something is recorded before the crash: the top rung lists a whole segment ('live' only means the ladder
    // is fixed, which comes before ffmpeg's first segment).
    const topRung = bridgeBefore.ladder![0]!.name;
    await expect
      .poll(
        async () => {
          const playlist = await server.liveHls.renditions(a.classId)?.mediaPlaylist(topRung, {});
          return typeof playlist?.body === 'string' ? playlist.body.split('\n').filter((l) => l.startsWith('#EXTINF')).length : 0;
        },
        { timeout: 30_000, interval: 250 },
      )
      .toBeGreaterThan(0);

    // Kill class A's worker process.
    const replaced = new Promise<PooledWorker>((resolve) =>
      server.workers.on('workerreplaced', (w) => w.index === workerA.index && resolve(w)),
    );
    process.kill(workerA.worker.pid, 'SIGKILL');

    // Its class is told, and the room it had is gone; class B is not touched.
    await expect.poll(() => resetsA.length, { timeout: 15_000 }).toBe(1);
    expect(roomA.closed).toBe(true);
    expect(roomB.closed).toBe(false);
    expect(server.rooms.get(b.classId)).toBe(roomB);
    expect(resetsB).toEqual([]);

    // The replacement listens on the same fixed port.
    const replacement = await replaced;
    expect(replacement.worker.pid).not.toBe(workerA.worker.pid);
    expect(replacement.port).toBe(workerA.port);
    expect((await replacement.webRtcServer.dump()).udpSockets.map((s) => s.port)).toEqual([workerA.port]);
    expect(await udpPortTaken(workerA.port)).toBe(true);

    // The browsers rebuild on their own: a new room with the teacher's camera and microphone, and the student
    // decodes the teacher again through it.
    await expect
      .poll(
        () => {
          const room = server.rooms.get(a.classId);
          return room && room !== roomA
            ? room
                .mediaSources()
                .map((s) => s.source)
                .sort()
            : [];
        },
        { timeout: 30_000 },
      )
      .toEqual(['camera', 'mic']);
    const rebuilt = server.rooms.get(a.classId)!;
    await expect
      .poll(() => rebuilt.peers().some((p) => p.userId === a.students[0]!.user.id && p.consumers.size > 0), { timeout: 30_000 })
      .toBe(true);
    const framesAfterRebuild = await teacherVideoFrames(student);
    await expect.poll(() => teacherVideoFrames(student), { timeout: 30_000 }).toBeGreaterThan(framesAfterRebuild + 20);
    await expect.poll(() => teacher.getByTestId('studio-state').getAttribute('data-state'), { timeout: 20_000 }).toBe('live');

    // The recording made before the crash is finalised (a replay of what it had), and the class records on into
    // the same recording (one replay per class) once its media flows through the new room's bridge: its runs
    // follow the earlier bridge's.
    await expect
      .poll(
        () => server.liveHls.bridge(a.classId) !== bridgeBefore && server.liveHls.bridge(a.classId)!.runIds.length > runsBefore.length,
        {
          timeout: 60_000,
          interval: 250,
        },
      )
      .toBe(true);
    expect(server.liveHls.recordingOf(a.classId)).toBe(firstRecording);
    expect(server.liveHls.bridge(a.classId)!.runIds.slice(0, runsBefore.length)).toEqual(runsBefore);
    await expect
      .poll(async () => (await server.recordings.byId(firstRecording))?.status, { timeout: 60_000, interval: 250 })
      .toBe('recording');
    expect((await server.recordings.byId(firstRecording))!.durationSeconds).toBeGreaterThan(0);
    expect((await server.recordings.ofClass(a.classId)).map((r) => r.id)).toEqual([firstRecording]);
    expect(runsBefore.length).toBeGreaterThan(0);

    await Promise.all(contexts.map((c) => c.close()));
  }, 240_000);
});
