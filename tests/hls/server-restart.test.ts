// A server process that dies mid-class (SIGKILL: nothing gets to finalise anything) leaves its class's
// recording in `recording`; the next process finalises it at start-up from what is on disk. A process told to
// stop mid-class (SIGTERM) closes by ownership: each live class closes its HLS bridge and room, the recording
// is finalised before the process exits, and no ffmpeg or mediasoup worker outlives it. A class whose teacher
// broadcasts again after the restart records on into the same recording: one replay per class. Real processes sharing
// PostgreSQL and the data directory, and a real teacher page publishing into them.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import HLS from 'hls-parser';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { openDatabase, type DatabaseHandle } from '../../server/db/client.ts';
import type { ReplayView } from '../../server/contracts/media.ts';
import type { ReplayTimeline } from '../../server/contracts/timeline.ts';
import { recordings } from '../../server/db/schema.ts';
import { MediaTokens } from '../../server/hls/media-tokens.ts';
import { launchChromium } from '../helpers/browser.ts';
import { createScratchDatabase } from '../helpers/databases.ts';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { insertClass } from '../helpers/live-class.ts';
import { serverEnv, ServerProcess } from '../helpers/server-process.ts';
import { knownMediaScript } from './known-media.ts';

const SECRET = 'media secret shared by both processes';

describe('a server restart mid-class', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-restart-'));
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let database: DatabaseHandle;
  let browser: Browser;
  const processes: ServerProcess[] = [];
  const start = async () => {
    const p = await ServerProcess.start({
      ...serverEnv({ dataDir, databaseUrl: scratch.url }),
      LECTERN_MEDIA_SECRET: SECRET,
      LECTERN_TEST_APP: 'build',
    });
    processes.push(p);
    return p;
  };

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    database = await openDatabase({ url: scratch.url, pgliteDir: path.join(dataDir, 'unused') });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all(processes.map((p) => p.stop()));
    await database?.close();
    await scratch?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** The teacher's studio page of the class in `server`, its camera and microphone a known picture and tone. */
  async function openStudio(server: ServerProcess, teacher: RegisteredUser, classId: string, toneHz: number) {
    const context = await browser.newContext();
    const [name, value] = teacher.client.cookieHeader.split('=') as [string, string];
    await context.addCookies([{ name, value, url: server.url }]);
    await context.addInitScript(knownMediaScript(toneHz));
    const page = await context.newPage();
    await page.goto(`${server.url}/studio/${classId}`);
    return { context, page };
  }

  /** The teacher's page goes live in `server` with known media; resolves once the recording has segments. */
  async function liveClassWithSegments(server: ServerProcess, title: string) {
    const teacher = await registerUser(server.url, 'teacher', `${title} Teacher`);
    const student = await registerUser(server.url, 'student', `${title} Student`);
    const { classId } = await insertClass(database.db, {
      teacherId: teacher.user.id,
      studentIds: [student.user.id],
      title,
      courseTitle: 'Restarts',
      live: false,
    });
    const { context, page } = await openStudio(server, teacher, classId, 440);
    await page.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    const row = async () => (await database.db.select().from(recordings).where(eq(recordings.classId, classId)))[0];
    await expect.poll(async () => (await row())?.status, { timeout: 60_000, interval: 250 }).toBe('recording');
    const dir = path.join(dataDir, path.dirname((await row())!.playlistPath));
    const segmentsOnDisk = () => {
      const manifest = fs.existsSync(path.join(dir, 'manifest.json'))
        ? JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'))
        : null;
      const rung = manifest?.ladder?.at(-1)?.name;
      return rung && fs.existsSync(path.join(dir, rung))
        ? fs.readdirSync(path.join(dir, rung)).filter((f) => /^run-[0-9]+-[0-9]+\.m4s$/.test(f)).length
        : 0;
    };
    await expect.poll(segmentsOnDisk, { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(3);
    return { context, row, student, teacher, classId, segmentsOnDisk };
  }

  /** Kills the process and everything it started (its ffmpeg would otherwise keep the ports). */
  async function killHard(server: ServerProcess) {
    const children = childrenOf(server.child.pid!);
    server.child.kill('SIGKILL');
    for (const { pid } of children) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((resolve) => server.child.once('exit', resolve));
  }

  /** The server process's children by program name (the mediasoup worker and ffmpeg). */
  const childrenOf = (pid: number) =>
    execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((child) => ({ pid: Number(child), name: path.basename(fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0')[0]!) }));
  /** Running (a zombie waiting for its reaper has exited). */
  const running = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };

  it('stopped by SIGTERM mid-class, finalises the recording and leaves no ffmpeg or worker behind', async () => {
    const server = await start();
    const { context, row } = await liveClassWithSegments(server, 'Stopped class');
    const children = childrenOf(server.child.pid!);
    expect(children.map((c) => c.name)).toEqual(expect.arrayContaining(['ffmpeg', 'mediasoup-worker']));

    const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await context.close();

    // Finalised by the process itself before it exited: no next process was needed.
    const rec = (await row())!;
    expect(rec.status).toBe('ready');
    expect(rec.error).toBeNull();
    expect(rec.durationSeconds).toBeGreaterThanOrEqual(2);
    expect(children.filter((c) => running(c.pid))).toEqual([]);
  });

  it('finalises the recording the dead process left behind, from the files on disk', async () => {
    const first = await start();
    const { context, row, student } = await liveClassWithSegments(first, 'Interrupted class');

    await killHard(first);
    await context.close();
    expect((await row())!.status).toBe('recording');

    // The next process: the recording is finalised at start-up, and its replay plays from the files.
    const next = await start();
    await expect.poll(async () => (await row())?.status, { timeout: 60_000, interval: 250 }).toBe('ready');
    const rec = (await row())!;
    expect(rec.error).toBeNull();
    expect(rec.durationSeconds).toBeGreaterThanOrEqual(2);
    const token = new MediaTokens(SECRET).sign({ kind: 'recording', id: rec.id }, student.user.id).token;
    const master = HLS.parse(await (await fetch(`${next.url}/media/recordings/${rec.id}/master.m3u8?token=${token}`)).text());
    expect(master.isMasterPlaylist).toBe(true);
    const variant = (master as HLS.types.MasterPlaylist).variants.at(-1)!;
    const vod = HLS.parse(await (await fetch(`${next.url}/media/recordings/${rec.id}/${variant.uri}`)).text()) as HLS.types.MediaPlaylist;
    expect(vod.playlistType).toBe('VOD');
    expect(vod.endlist).toBe(true);
    expect(vod.segments.length).toBeGreaterThanOrEqual(2);
    const segment = await fetch(`${next.url}/media/recordings/${rec.id}/${variant.uri.split('/')[0]}/${vod.segments[0]!.uri}`);
    expect(segment.status).toBe(200);
    expect((await segment.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  });

  it('gives a class killed mid-way (SIGKILL) and resumed after the restart one replay covering both parts', async () => {
    const first = await start();
    const { context, row, student, teacher, classId, segmentsOnDisk } = await liveClassWithSegments(first, 'Resumed class');
    const recordingId = (await row())!.id;
    await killHard(first);
    await context.close();

    // The next process finalises what the first one recorded: the replay so far.
    const next = await start();
    await expect.poll(async () => (await row())?.status, { timeout: 60_000, interval: 250 }).toBe('ready');
    expect((await row())!.durationSeconds).toBeGreaterThanOrEqual(2);
    // What the first process recorded (its bridge may have started more than one run as the sources arrived).
    const viewer = student.client.at(next.url);
    const timelineOf = async () => (await viewer.get(`/api/media/recordings/${recordingId}/timeline`)).body as ReplayTimeline;
    const firstSeconds = (await timelineOf()).durationSeconds;
    expect(firstSeconds).toBeGreaterThanOrEqual(2);
    const segmentsBefore = segmentsOnDisk();

    // The teacher comes back and broadcasts again: the class records on into the same recording.
    const { context: resumed, page } = await openStudio(next, teacher, classId, 660);
    await page.getByRole('button', { name: 'Resume broadcast' }).click({ timeout: 30_000 });
    await expect.poll(async () => (await row())?.status, { timeout: 60_000, interval: 250 }).toBe('recording');
    await expect.poll(segmentsOnDisk, { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(segmentsBefore + 3);
    expect(await database.db.select().from(recordings).where(eq(recordings.classId, classId))).toHaveLength(1);

    await page.getByRole('button', { name: 'End class' }).click();
    await page.getByRole('button', { name: 'Yes, end class' }).click();
    await expect.poll(async () => (await row())?.status, { timeout: 90_000, interval: 250 }).toBe('ready');
    await resumed.close();

    // One replay, its first part what the first process recorded, then the rest, with the break between marked.
    const rows = await database.db.select().from(recordings).where(eq(recordings.classId, classId));
    expect(rows.map((r) => r.id)).toEqual([recordingId]);
    const rec = rows[0]!;
    expect(rec.error).toBeNull();
    const timeline = await timelineOf();
    const total = timeline.durationSeconds;
    expect(Math.abs(rec.durationSeconds - total)).toBeLessThanOrEqual(1);
    // Both parts: what the first process recorded, then at least the three segments recorded after the restart.
    expect(total).toBeGreaterThanOrEqual(firstSeconds + 2.5);

    // What the class's members see: one replay, whose timeline marks the break, joined in one VOD playlist.
    const listed = await viewer.get(`/api/media/classes/${classId}/recordings`);
    expect(listed.status).toBe(200);
    expect(listed.body.recordings.map((r: { id: string }) => r.id)).toEqual([recordingId]);
    const view = (await viewer.get(`/api/media/recordings/${recordingId}`)).body as ReplayView;
    // The restart (a new process, the teacher's page loaded again) took seconds the replay does not have.
    const gap = timeline.gaps.find((g) => Math.abs(g.atSeconds - firstSeconds) < 0.01);
    expect(gap?.seconds).toBeGreaterThanOrEqual(3);
    const master = HLS.parse(await (await fetch(`${next.url}${view.recording.playlistUrl}`)).text()) as HLS.types.MasterPlaylist;
    const base = `${next.url}${view.recording.playlistUrl!.replace(/master\.m3u8$/, '')}`;
    const vod = HLS.parse(await (await fetch(`${base}${master.variants[0]!.uri}`)).text()) as HLS.types.MediaPlaylist;
    expect(vod.playlistType).toBe('VOD');
    expect(vod.segments.filter((s) => s.discontinuity).length).toBeGreaterThanOrEqual(1);
    const vodSeconds = vod.segments.reduce((sum, s) => sum + s.duration, 0);
    expect(Math.abs(vodSeconds - total)).toBeLessThan(0.1);

    // Its MP4 holds both parts too.
    await expect.poll(async () => (await row())?.downloadStatus, { timeout: 60_000, interval: 250 }).toBe('ready');
    const mp4 = path.join(dataDir, path.dirname(rec.playlistPath), 'download.mp4');
    const probed = JSON.parse(
      execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'json', mp4], { encoding: 'utf8' }),
    ) as { format: { duration: string } };
    expect(Math.abs(Number(probed.format.duration) - vodSeconds) / vodSeconds).toBeLessThan(0.05);
  });
});
