// A server process that dies mid-class (SIGKILL: nothing gets to finalise anything) leaves its class's
// recording in `recording`; the next process finalises it at start-up from what is on disk. Real processes
// sharing PostgreSQL and the data directory, and a real teacher page publishing into the first one.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import HLS from 'hls-parser';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { openDatabase, type DatabaseHandle } from '../../server/db/client.ts';
import { recordings } from '../../server/db/schema.ts';
import { MediaTokens } from '../../server/hls/media-tokens.ts';
import { launchChromium } from '../helpers/browser.ts';
import { createScratchDatabase } from '../helpers/databases.ts';
import { registerUser } from '../helpers/http-client.ts';
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
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all(processes.map((p) => p.stop()));
    await database?.close();
    await scratch?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('finalises the recording the dead process left behind, from the files on disk', async () => {
    const first = await start();
    database = await openDatabase({ url: scratch.url, pgliteDir: path.join(dataDir, 'unused') });
    const teacher = await registerUser(first.url, 'teacher', 'Restart Teacher');
    const student = await registerUser(first.url, 'student', 'Restart Student');
    const { classId } = await insertClass(database.db, {
      teacherId: teacher.user.id,
      studentIds: [student.user.id],
      title: 'Interrupted class',
      courseTitle: 'Restarts',
      live: false,
    });
    const context = await browser.newContext();
    const [name, value] = teacher.client.cookieHeader.split('=') as [string, string];
    await context.addCookies([{ name, value, url: first.url }]);
    await context.addInitScript(knownMediaScript(440));
    const page = await context.newPage();
    await page.goto(`${first.url}/studio/${classId}`);
    await page.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });

    // Media flows: the recording exists and its runs have written a few segments.
    const row = async () => (await database.db.select().from(recordings).where(eq(recordings.classId, classId)))[0];
    await expect.poll(async () => (await row())?.status, { timeout: 60_000, interval: 250 }).toBe('recording');
    const dir = path.join(dataDir, path.dirname((await row())!.playlistPath));
    const segmentsOnDisk = () => {
      const manifest = fs.existsSync(path.join(dir, 'manifest.json'))
        ? JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'))
        : null;
      const rung = manifest?.ladder?.at(-1)?.name;
      return rung && fs.existsSync(path.join(dir, rung)) ? fs.readdirSync(path.join(dir, rung)).filter((f) => f.endsWith('.ts')).length : 0;
    };
    await expect.poll(segmentsOnDisk, { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(3);

    // The process dies with everything it started (its ffmpeg would otherwise keep the ports).
    const children = execFileSync('pgrep', ['-P', String(first.child.pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean);
    first.child.kill('SIGKILL');
    for (const pid of children) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((resolve) => first.child.once('exit', resolve));
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
});
