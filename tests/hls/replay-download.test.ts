// A replay's MP4 download: made after the recording is finalised from its top rendition without re-encoding
// (H.264 + AAC, the index at the front), every run of the class in it on one timeline, ffprobe reading the
// length the runs add up to; served to the class's members with range requests (206, the exact bytes; 416
// past the end), refused (403) to anyone else; Chromium plays it. Real ffmpeg, PGlite and Chromium.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayView } from '../../server/contracts/media.ts';
import type { ReplayTimeline } from '../../server/contracts/timeline.ts';
import { classChapters, liveClasses, type Recording } from '../../server/db/schema.ts';
import { DOWNLOAD_FILE } from '../../server/hls/run-output.ts';
import { launchChromium } from '../helpers/browser.ts';
import { registerPeople, type People } from '../helpers/people.ts';
import { recordRuns } from '../helpers/recorded-class.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const exec = promisify(execFile);

/** ffprobe's view of a file: its duration and its streams' codecs. */
async function probe(file: string): Promise<{ duration: number; codecs: string[]; faststart: boolean }> {
  const { stdout } = await exec('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration:stream=codec_name,codec_type',
    '-of',
    'json',
    file,
  ]);
  const info = JSON.parse(stdout) as { format: { duration: string }; streams: { codec_name: string; codec_type: string }[] };
  // +faststart: the movie header (moov) comes before the media data (mdat).
  const head = fs
    .readFileSync(file)
    .subarray(0, 64 * 1024)
    .toString('latin1');
  const moov = head.indexOf('moov');
  return {
    duration: Number(info.format.duration),
    // The media streams (the chapters are a text track of their own).
    codecs: info.streams
      .filter((s) => s.codec_type === 'video' || s.codec_type === 'audio')
      .map((s) => s.codec_name)
      .sort(),
    faststart: moov >= 0 && (head.indexOf('mdat') < 0 || moov < head.indexOf('mdat')),
  };
}

describe('the MP4 download of a replay', () => {
  let server: TestServer;
  let people: People;
  let browser: Browser;
  let recording: Recording;
  let replay: ReplayView;
  const RUNS = [4, 3];
  const GAP_SECONDS = 6;

  beforeAll(async () => {
    server = await startTestServer();
    people = await registerPeople(server);
    const { teacher, student } = people;
    const courseId = (await teacher.client.post('/api/courses', { title: 'Downloads' })).body.course.id;
    const lessonId = (await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Waves' })).body.lesson.id;
    expect((await teacher.client.patch(`/api/courses/${courseId}`, { published: true })).status).toBe(200);
    expect((await student.client.post(`/api/courses/${courseId}/enrollment`)).status).toBe(201);
    const [row] = await server.db
      .insert(liveClasses)
      .values({
        courseId,
        lessonId,
        teacherId: teacher.user.id,
        title: 'Waves',
        scheduledAt: new Date(Date.now() - 3600_000),
        status: 'ended',
      })
      .returning();
    // Two runs (the server restarted: 6 s of the class unrecorded between them), each with its own clock from
    // zero, and a chapter marked at the start of each.
    const start = new Date(Date.now() - 60_000);
    const second = new Date(start.getTime() + (RUNS[0]! + GAP_SECONDS) * 1000);
    await server.db.insert(classChapters).values([
      { classId: row!.id, title: 'Interference', at: start, createdBy: teacher.user.id },
      { classId: row!.id, title: 'Standing waves; nodes = 2', at: second, createdBy: teacher.user.id },
    ]);
    recording = await recordRuns(server, row!.id, [
      { seconds: RUNS[0]!, startedAt: start },
      { seconds: RUNS[1]!, startedAt: second },
    ]);
    replay = (await student.client.get(`/api/media/recordings/${recording.id}`)).body as ReplayView;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('is made from every run, copied as H.264 + AAC with the index first, as long as the runs together', async () => {
    expect(recording.downloadStatus).toBe('ready');
    expect(recording.downloadError).toBeNull();
    expect(replay.recording.download).toMatchObject({ status: 'ready', percent: 100, error: null });
    expect(replay.recording.download.url).toMatch(new RegExp(`/recordings/${recording.id}/${DOWNLOAD_FILE}$`));
    const file = path.join(path.dirname(path.join(server.dataDir, recording.playlistPath)), DOWNLOAD_FILE);
    expect(replay.recording.download.sizeBytes).toBe(fs.statSync(file).size);
    const info = await probe(file);
    expect(info.codecs).toEqual(['aac', 'h264']);
    expect(info.faststart).toBe(true);
    const expected = RUNS.reduce((a, b) => a + b, 0);
    expect(Math.abs(info.duration - expected) / expected).toBeLessThan(0.05);
    // The chapters, where they fall in the replay (the second where the second run begins).
    const { stdout } = await exec('ffprobe', ['-v', 'error', '-show_chapters', '-of', 'json', file]);
    const chapters = (JSON.parse(stdout) as { chapters: { start_time: string; end_time: string; tags: { title: string } }[] }).chapters;
    expect(chapters.map((c) => c.tags.title)).toEqual(['Interference', 'Standing waves; nodes = 2']);
    expect(Number(chapters[0]!.start_time)).toBeCloseTo(0, 1);
    expect(Number(chapters[1]!.start_time)).toBeCloseTo(RUNS[0]!, 0);
    expect(Number(chapters[1]!.end_time)).toBeCloseTo(expected, 0);
    // The break between the runs is on the replay's timeline, where the second run begins.
    const timeline = (await people.student.client.get(`/api/media/recordings/${recording.id}/timeline`)).body as ReplayTimeline;
    expect(timeline.gaps).toHaveLength(1);
    expect(timeline.gaps[0]!.atSeconds).toBeCloseTo(RUNS[0]!, 0);
    expect(timeline.gaps[0]!.seconds).toBeCloseTo(GAP_SECONDS, 0);
    // Nothing of the work is left beside it.
    expect(fs.readdirSync(path.dirname(file)).filter((f) => f.startsWith('.') || f.includes('partial'))).toEqual([]);
  });

  it('answers range requests with 206 and exactly the bytes asked for, 416 past the end', async () => {
    const url = `${server.url}${replay.recording.download.url}`;
    const whole = Buffer.from(await (await fetch(url)).arrayBuffer());
    const file = path.join(path.dirname(path.join(server.dataDir, recording.playlistPath)), DOWNLOAD_FILE);
    expect(whole.equals(fs.readFileSync(file))).toBe(true);

    const part = await fetch(url, { headers: { range: 'bytes=100-1099' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-1099/${whole.length}`);
    expect(part.headers.get('content-length')).toBe('1000');
    expect(part.headers.get('content-type')).toBe('video/mp4');
    expect(Buffer.from(await part.arrayBuffer()).equals(whole.subarray(100, 1100))).toBe(true);

    const tail = await fetch(url, { headers: { range: 'bytes=-500' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(whole.subarray(whole.length - 500))).toBe(true);
    const rest = await fetch(url, { headers: { range: `bytes=${whole.length - 10}-` } });
    expect(rest.status).toBe(206);
    expect(Buffer.from(await rest.arrayBuffer()).equals(whole.subarray(whole.length - 10))).toBe(true);

    const past = await fetch(url, { headers: { range: `bytes=${whole.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${whole.length}`);
  });

  it('is refused to anyone who may not watch the replay', async () => {
    const { outsider } = people;
    expect((await outsider.client.get(`/api/media/recordings/${recording.id}`)).status).toBe(403);
    // A link signed for someone outside the class, and no token at all.
    const foreign = server.mediaAccess.sign({ kind: 'recording', id: recording.id }, outsider.user.id).token;
    const asOutsider = await fetch(`${server.url}/media/t/${encodeURIComponent(foreign)}/recordings/${recording.id}/${DOWNLOAD_FILE}`, {
      headers: { range: 'bytes=0-99' },
    });
    expect(asOutsider.status).toBe(403);
    expect((await fetch(`${server.url}/media/recordings/${recording.id}/${DOWNLOAD_FILE}`)).status).toBe(403);
  });

  it('is made again when the chapters change, with the new ones', async () => {
    const { teacher } = people;
    const timeline = (await teacher.client.get(`/api/media/recordings/${recording.id}/timeline`)).body as ReplayTimeline;
    const second = timeline.chapters.find((c) => c.title.startsWith('Standing'))!;
    const renamed = await teacher.client.request(
      'PATCH',
      `/api/media/recordings/${recording.id}/chapters/${second.id}`,
      { title: 'Resonance' },
      { origin: server.url },
    );
    expect(renamed.status).toBe(200);
    const file = path.join(path.dirname(path.join(server.dataDir, recording.playlistPath)), DOWNLOAD_FILE);
    const titles = async () => {
      const row = await server.recordings.byId(recording.id);
      if (row?.downloadStatus !== 'ready') return [];
      const { stdout } = await exec('ffprobe', ['-v', 'error', '-show_chapters', '-of', 'json', file]);
      return (JSON.parse(stdout) as { chapters: { tags: { title: string } }[] }).chapters.map((c) => c.tags.title);
    };
    await expect.poll(titles, { timeout: 30_000, interval: 200 }).toEqual(['Interference', 'Resonance']);
    replay = (await people.student.client.get(`/api/media/recordings/${recording.id}`)).body as ReplayView;
  });

  it('plays in Chromium', async () => {
    const page = await browser.newPage();
    try {
      // A blank page (no CSP of ours in the way): the video element fetches the file by its signed URL.
      const played = await page.evaluate(async (src) => {
        const video = document.createElement('video');
        video.muted = true;
        video.src = src;
        document.body.append(video);
        await new Promise<void>((resolve, reject) => {
          video.addEventListener('loadeddata', () => resolve(), { once: true });
          video.addEventListener('error', () => reject(new Error(`media error ${video.error?.code}: ${video.error?.message}`)), {
            once: true,
          });
        });
        const readyState = video.readyState;
        await video.play();
        // Past the first run into the second: the joined timeline plays through.
        video.currentTime = 4.5;
        await new Promise<void>((resolve) => {
          const check = () => (video.currentTime > 5 ? resolve() : requestAnimationFrame(check));
          check();
        });
        return {
          readyState,
          duration: video.duration,
          currentTime: video.currentTime,
          frames: video.getVideoPlaybackQuality().totalVideoFrames,
        };
      }, `${server.url}${replay.recording.download.url}`);
      expect(played.readyState).toBeGreaterThanOrEqual(2);
      expect(played.currentTime).toBeGreaterThan(5);
      expect(played.frames).toBeGreaterThan(0);
      expect(Math.abs(played.duration - 7) / 7).toBeLessThan(0.05);
    } finally {
      await page.close();
    }
  });
});
