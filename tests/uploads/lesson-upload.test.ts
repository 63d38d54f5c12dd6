// Uploaded lessons end to end: a generated video goes up, is probed, transcoded in the background to the
// HLS ladder with progress, survives a queue restart, and plays in Chromium with hls.js. A corrupt or
// oversized upload is refused with a clear message and leaves nothing behind.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lessons, transcodeJobs } from '../../server/db/schema.ts';
import { launchChromium } from '../helpers/browser.ts';
import { registerUser, type HttpClient } from '../helpers/http-client.ts';
import { makeVideo, uploadLessonVideo } from '../helpers/lesson-video.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const LIMIT = 3 * 1024 * 1024;

/** A GET with the path exactly as given (node:http sends it as written; fetch and URL resolve dot segments). */
function rawGet(base: string, rawPath: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, path: rawPath, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
}

describe('uploaded lessons', () => {
  let server: TestServer;
  let browser: Browser;
  let tmp: string;
  let teacher: Awaited<ReturnType<typeof registerUser>>;
  let student: Awaited<ReturnType<typeof registerUser>>;
  let outsider: Awaited<ReturnType<typeof registerUser>>;
  let courseId: string;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-upload-'));
    [server, browser] = await Promise.all([startTestServer({ env: { LECTERN_MAX_UPLOAD_BYTES: String(LIMIT) } }), launchChromium()]);
    [teacher, student, outsider] = await Promise.all([
      registerUser(server.url, 'teacher'),
      registerUser(server.url, 'student'),
      registerUser(server.url, 'student'),
    ]);
    courseId = (await teacher.client.post('/api/courses', { title: 'Video course' })).body.course.id;
    await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Placeholder' });
    await teacher.client.patch(`/api/courses/${courseId}`, { published: true });
    await student.client.post(`/api/courses/${courseId}/enrollment`);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function newLesson(title: string): Promise<string> {
    return (await teacher.client.post(`/api/courses/${courseId}/lessons`, { title })).body.lesson.id;
  }

  function upload(client: HttpClient, lessonId: string, body: Buffer, name = 'clip.mp4') {
    return uploadLessonVideo(server.url, client, lessonId, body, name);
  }

  /** Polls the lesson's video until it is no longer processing; fails after 90 s with the last answer. */
  async function waitForVideo(client: HttpClient, lessonId: string, seen: number[]) {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const { status, body } = await client.get(`/api/lessons/${lessonId}/video`);
      if (body?.video?.job) seen.push(body.video.job.progressPercent);
      if (body?.video && body.video.status !== 'processing') return body.video;
      if (Date.now() > deadline) throw new Error(`the video is still not ready; last answer ${status} ${JSON.stringify(body)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('uploads, transcodes with progress to the HLS ladder and plays in Chromium with hls.js', async () => {
    const lessonId = await newLesson('Uploaded');
    // Long enough that the transcode reports progress for a while (the queue stores it at most once a second).
    const file = makeVideo(tmp, 'clip.mp4', 10, '640x360');
    const reported: number[] = [];
    const onProgress = (_job: string, id: string, percent: number) => id === lessonId && reported.push(percent);
    server.transcodes.on('progress', onProgress);
    expect((await upload(student.client, lessonId, fs.readFileSync(file))).status).toBe(403);
    const res = await upload(teacher.client, lessonId, fs.readFileSync(file), 'My clip.mp4');
    expect(res.status).toBe(202);
    expect(res.body.video).toMatchObject({ status: 'processing', job: { originalName: 'My clip.mp4' } });
    expect(['queued', 'running']).toContain(res.body.video.job.status);
    expect((await upload(teacher.client, lessonId, fs.readFileSync(file))).status).toBe(409); // one at a time

    const seen: number[] = [];
    const video = await waitForVideo(teacher.client, lessonId, seen);
    server.transcodes.off('progress', onProgress);
    expect(video).toMatchObject({ status: 'ready', error: null, job: { status: 'ready', progressPercent: 100, attempts: 1 } });
    // Progress the teacher can watch: the queue reports it step by step, and the API showed it under way.
    expect(new Set(reported.filter((p) => p > 0 && p < 100)).size, `reported ${reported.join(', ')}`).toBeGreaterThanOrEqual(2);
    expect(reported).toEqual([...reported].sort((a, b) => a - b));
    expect(
      seen.some((p) => p > 0 && p < 100),
      `the API showed ${seen.join(', ')}`,
    ).toBe(true);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    const [row] = await server.db.select().from(lessons).where(eq(lessons.id, lessonId));
    expect(row!.durationSeconds).toBe(10);
    // The source is gone, the ladder is in place, no scratch directory is left.
    expect(filesUnder(path.join(server.dataDir, 'uploads'))).toEqual([]);
    const lessonFiles = filesUnder(path.join(server.dataDir, 'lessons', lessonId)).map((f) =>
      path.relative(path.join(server.dataDir, 'lessons', lessonId), f),
    );
    expect(lessonFiles).toContain('hls/master.m3u8');
    expect(lessonFiles.some((f) => /^hls\/\d+p\/index\.m3u8$/.test(f))).toBe(true);
    expect(lessonFiles.every((f) => f.startsWith('hls/'))).toBe(true);

    // Who may fetch it: the enrolled student gets a signed URL (the token in its path, so a CDN can cache the
    // files), an outsider gets nothing, a bare URL is refused.
    expect((await outsider.client.get(`/api/lessons/${lessonId}/video`)).status).toBe(403);
    const studentView = (await student.client.get(`/api/lessons/${lessonId}`)).body.video;
    const signed = new RegExp(`^/media/t/([^/?]+)/lessons/${lessonId}/hls/master\\.m3u8$`).exec(studentView.playbackUrl);
    expect(signed, studentView.playbackUrl).not.toBeNull();
    const token = decodeURIComponent(signed![1]!);
    const master = await fetch(server.url + studentView.playbackUrl);
    expect(master.status).toBe(200);
    expect(master.headers.get('cache-control')).toBe('private, max-age=5');
    const text = await master.text();
    expect(text).toContain('#EXT-X-STREAM-INF');
    // Relative URIs under the token's path: the same playlist for every viewer, no token in it.
    expect(text).toMatch(/^\d+p\/index\.m3u8$/m);
    expect(text).not.toContain('token=');
    const rung = /^(\d+p)\/index\.m3u8$/m.exec(text)![1]!;
    const mediaPlaylist = await fetch(new URL(`${rung}/index.m3u8`, server.url + studentView.playbackUrl));
    expect(mediaPlaylist.status).toBe(200);
    const segmentName = (await mediaPlaylist.text()).split('\n').find((l) => l && !l.startsWith('#'))!;
    const segmentUrl = new URL(`${rung}/${segmentName}`, server.url + studentView.playbackUrl);
    expect(segmentUrl.pathname).toBe(`/media/t/${encodeURIComponent(token)}/lessons/${lessonId}/hls/${rung}/${segmentName}`);
    const segment = await fetch(segmentUrl);
    expect(segment.status).toBe(200);
    expect(segment.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${server.url}/media/lessons/${lessonId}/hls/master.m3u8`)).status).toBe(403);
    // The older ?token= form still answers (pages opened before path tokens), its playlists carrying the token on.
    const legacy = await fetch(`${server.url}/media/lessons/${lessonId}/hls/master.m3u8?token=${encodeURIComponent(token)}`);
    expect(legacy.status).toBe(200);
    expect(await legacy.text()).toMatch(/index\.m3u8\?token=/);
    // Paths that climb out of the lesson, sent as written (fetch would resolve the dots before sending), with
    // a valid token: not found, like any name the lesson does not have. The same request for the real
    // playlist answers, so the refusals come from the path alone.
    const raw = (p: string) => rawGet(server.url, `${p}?token=${encodeURIComponent(token)}`);
    expect((await raw(`/media/lessons/${lessonId}/hls/master.m3u8`)).status).toBe(200);
    const inPath = `/media/t/${encodeURIComponent(token)}/lessons/${lessonId}`;
    expect((await rawGet(server.url, `${inPath}/hls/master.m3u8`)).status).toBe(200);
    for (const climb of [
      `/media/lessons/${lessonId}/hls/../../../../../../etc/passwd`,
      `/media/lessons/${lessonId}/../../../etc/passwd`,
      `/media/lessons/${lessonId}/hls/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
      `/media/lessons/${lessonId}/hls/..%2f..%2f..%2f..%2fetc%2fpasswd`,
      `${inPath}/hls/../../../../../../etc/passwd`,
      `${inPath}/hls/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
    ]) {
      const res = climb.startsWith(inPath) ? await rawGet(server.url, climb) : await raw(climb);
      expect({ climb, status: res.status }).toEqual({ climb, status: 404 });
      expect(res.body).not.toContain('root:');
    }

    const page = await browser.newPage();
    await page.route(`${server.url}/__player`, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<!doctype html><video id="v" muted playsinline></video>' }),
    );
    await page.goto(`${server.url}/__player`);
    await page.addScriptTag({ path: path.resolve('node_modules/hls.js/dist/hls.min.js') });
    await page.evaluate((src) => {
      const video = document.getElementById('v') as HTMLVideoElement;
      const hls = new (window as any).Hls();
      hls.loadSource(src);
      hls.attachMedia(video);
      hls.on((window as any).Hls.Events.MANIFEST_PARSED, () => void video.play());
    }, server.url + studentView.playbackUrl);
    await expect
      .poll(() => page.evaluate(() => (document.getElementById('v') as HTMLVideoElement).currentTime), { timeout: 20_000 })
      .toBeGreaterThan(1);
    await page.close();
  });

  it('refuses a corrupt upload with a clear message and leaves nothing half-made', async () => {
    const lessonId = await newLesson('Corrupt');
    const good = fs.readFileSync(makeVideo(tmp, 'for-corrupt.mp4', 2));
    // An mp4 name and the first bytes of a real mp4, then garbage: the extension says video, ffprobe does not.
    const corrupt = Buffer.concat([good.subarray(0, 64), Buffer.alloc(50_000, 0x5a)]);
    const res = await upload(teacher.client, lessonId, corrupt, 'lecture.mp4');
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('not_a_video');
    expect(res.body.error.message).toMatch(/not a video we can read|no video stream|no playable length/);
    const text = await upload(teacher.client, lessonId, Buffer.from('just some text pretending to be a video'), 'notes.mp4');
    expect(text.status).toBe(422);
    expect((await upload(teacher.client, lessonId, Buffer.alloc(0), 'empty.mp4')).status).toBe(400);
    expect(filesUnder(path.join(server.dataDir, 'uploads'))).toEqual([]);
    expect(fs.existsSync(path.join(server.dataDir, 'lessons', lessonId))).toBe(false);
    expect(await server.db.select().from(transcodeJobs).where(eq(transcodeJobs.lessonId, lessonId))).toEqual([]);
    const [row] = await server.db.select().from(lessons).where(eq(lessons.id, lessonId));
    expect(row!.videoStatus).toBe('none');
  });

  it('refuses a file over the size limit, whether or not it declares its length', async () => {
    const lessonId = await newLesson('Too big');
    const big = Buffer.alloc(LIMIT + 1024, 1);
    const declared = await upload(teacher.client, lessonId, big);
    expect(declared.status).toBe(413);
    expect(declared.body.error.message).toContain('limit');
    // Streamed without a length: cut off while arriving.
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new Uint8Array(LIMIT / 4));
        controller.close();
      },
    });
    const streamed = await fetch(`${server.url}/api/lessons/${lessonId}/video`, {
      method: 'PUT',
      headers: { cookie: teacher.client.cookieHeader, 'content-type': 'application/octet-stream', origin: server.url },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(filesUnder(path.join(server.dataDir, 'uploads'))).toEqual([]);
  });

  it('restarts a job interrupted by a server stop and finishes it', async () => {
    const lessonId = await newLesson('Interrupted');
    const res = await upload(teacher.client, lessonId, fs.readFileSync(makeVideo(tmp, 'long.mp4', 20, '480x270')));
    expect(res.status).toBe(202);
    await expect.poll(async () => (await server.transcodes.latestJob(lessonId))?.status, { timeout: 20_000, interval: 50 }).toBe('running');
    // The server stops as a deployment's stop does: ffmpeg is killed, the row stays 'running', the scratch
    // output goes. A new server on the same data directory and database runs the job again (attempt 2).
    server = await server.restart(() => expect(filesUnder(path.join(server.dataDir, 'lessons', lessonId))).toEqual([]));
    const video = await waitForVideo(teacher.client.at(server.url), lessonId, []);
    expect(video).toMatchObject({ status: 'ready', job: { status: 'ready', attempts: 2 } });
  }, 120_000);
});
