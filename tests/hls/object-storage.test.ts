// Replays and lesson videos in S3-compatible object storage (s3rver: the S3 HTTP API on loopback): a
// finished replay is uploaded to the bucket and its local copy goes, so every node can serve it; it plays
// through the token-checked /media routes from there (playlists, segments, 206 for a range), foreign and
// expired tokens are refused, its captions live beside it, its timeline and chapters are read from there, the
// course's storage counts the bucket, and deleting it empties its prefix. A store that is down: the replay
// plays from this machine and goes up when the store is back. An uploaded lesson video is kept and played the
// same way.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { CourseStorageView } from '../../server/contracts/courses.ts';
import { liveClasses, type Recording } from '../../server/db/schema.ts';
import type { RegisteredUser } from '../helpers/http-client.ts';
import { makeVideo, uploadLessonVideo } from '../helpers/lesson-video.ts';
import { registerPeople, type People } from '../helpers/people.ts';
import { recordClass } from '../helpers/recorded-class.ts';
import { TestS3 } from '../helpers/s3-server.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let s3: TestS3;
let server: TestServer;
let people: People;
let courseId: string;
let lessonId: string;
let tmp: string;

const prefixOf = (r: Recording) => path.posix.dirname(r.playlistPath);
const localDir = (prefix: string) => path.join(server.dataDir, prefix);
// As the page sends it: from the server's own origin (the API refuses cross-site writes).
const del = (who: RegisteredUser, p: string) => who.client.request('DELETE', p, undefined, { origin: server.url });

async function addClass(title: string): Promise<string> {
  const [row] = await server.db
    .insert(liveClasses)
    .values({ courseId, lessonId, teacherId: people.teacher.user.id, title, scheduledAt: new Date(Date.now() - 3600_000), status: 'ended' })
    .returning();
  return row!.id;
}

/** Waits until `check` holds (polled), or fails after `ms` saying what was awaited. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Waits until everything under `prefix` is in the bucket and gone from this machine: a replay goes up once what
 * is made of it (its download) is made, a lesson video once transcoded.
 */
function inBucketOnly(prefix: string, ms = 90_000): Promise<void> {
  return until(
    `${prefix} to be in the bucket and off this machine`,
    async () => !fs.existsSync(localDir(prefix)) && (await s3.objects(`${prefix}/master.m3u8`)).length === 1,
    ms,
  );
}

/** What a player fetches of a set: the master, the first rung's playlist, its init section and first segment. */
async function play(masterUrl: string): Promise<{ segmentUrl: string; segment: Buffer; init: Buffer; segments: number }> {
  const master = await fetch(masterUrl);
  expect(master.status).toBe(200);
  const variants = (HLS.parse(await master.text()) as HLS.types.MasterPlaylist).variants;
  expect(variants.length).toBeGreaterThan(0);
  const mediaUrl = new URL(variants[0]!.uri, masterUrl).href;
  const media = await fetch(mediaUrl);
  expect(media.status).toBe(200);
  const playlist = HLS.parse(await media.text()) as HLS.types.MediaPlaylist;
  expect(playlist.endlist).toBe(true);
  expect(playlist.segments.length).toBeGreaterThan(0);
  const first = playlist.segments[0]!;
  const segmentUrl = new URL(first.uri, mediaUrl).href;
  const segment = await fetch(segmentUrl);
  expect(segment.status).toBe(200);
  expect(segment.headers.get('accept-ranges')).toBe('bytes');
  const init = first.map ? Buffer.from(await (await fetch(new URL(first.map.uri, mediaUrl))).arrayBuffer()) : Buffer.alloc(0);
  return { segmentUrl, segment: Buffer.from(await segment.arrayBuffer()), init, segments: playlist.segments.length };
}

/** The key in the bucket of a /media URL's file: its path from the set's prefix on. */
function keyOf(url: string, prefix: string): string {
  const p = new URL(url).pathname;
  return p.slice(p.indexOf(prefix));
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-s3-test-'));
  s3 = await TestS3.start();
  server = await startTestServer({ env: s3.env });
  people = await registerPeople(server);
  const { teacher, student } = people;
  courseId = (await teacher.client.post('/api/courses', { title: 'Stored elsewhere' })).body.course.id;
  lessonId = (await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Waves' })).body.lesson.id;
  expect((await teacher.client.patch(`/api/courses/${courseId}`, { published: true })).status).toBe(200);
  expect((await student.client.post(`/api/courses/${courseId}/enrollment`)).status).toBe(201);
});
afterAll(async () => {
  await server?.stop();
  await s3?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('replays in object storage', () => {
  it('uploads a finished replay, plays it from the bucket with ranges and checked tokens, counts and deletes it there', async () => {
    const { teacher, student, outsider } = people;
    const recording = await recordClass(server, await addClass('Interference, live'));
    const prefix = prefixOf(recording);
    await inBucketOnly(prefix);
    // Everything is in the bucket and nothing of it is left on this machine: any node serves it from there.
    const stored = await s3.objects(`${prefix}/`);
    expect(stored.map((o) => o.key)).toEqual(expect.arrayContaining([`${prefix}/master.m3u8`, `${prefix}/thumbnail.jpg`]));
    expect(stored.filter((o) => o.key.endsWith('.m4s')).length).toBeGreaterThan(2);
    expect(fs.existsSync(localDir(prefix))).toBe(false);

    // The replay's timeline and chapters place it by its runs, read from the bucket too.
    const chapters = `/api/media/recordings/${recording.id}/chapters`;
    const chapter = await teacher.client.request('POST', chapters, { title: 'Fringes', atSeconds: 1 }, { origin: server.url });
    expect(chapter.status).toBe(201);
    const timeline = (await student.client.get(`/api/media/recordings/${recording.id}/timeline`)).body;
    expect(timeline.durationSeconds).toBeCloseTo(3, 0);
    expect(timeline.chapters).toEqual([{ id: chapter.body.chapter.id, title: 'Fringes', atSeconds: 1 }]);
    expect(await (await fetch(`${server.url}${timeline.chapterTrackUrl}`)).text()).toContain('Fringes');
    // A new chapter remakes the MP4 (its chapters are written in): brought back from the bucket, remade, stored again.
    await expect
      .poll(async () => (await student.client.get(`/api/media/recordings/${recording.id}`)).body.recording.download.status, {
        timeout: 90_000,
        interval: 500,
      })
      .toBe('ready');
    await inBucketOnly(prefix);

    const view = (await student.client.get(`/api/media/recordings/${recording.id}`)).body;
    const masterUrl = `${server.url}${view.recording.playlistUrl}`;
    const { segmentUrl, segment, init } = await play(masterUrl);
    // The bytes are the bucket's.
    expect(segment.equals(await s3.read(keyOf(segmentUrl, prefix)))).toBe(true);
    expect(init.length).toBeGreaterThan(0);
    // The replay's MP4 download was made before the upload and is served from the bucket too, in ranges.
    expect(view.recording.download.status).toBe('ready');
    const mp4Size = (await s3.objects(`${prefix}/download.mp4`))[0]!.size;
    const mp4Part = await fetch(`${server.url}${view.recording.download.url}`, { headers: { range: 'bytes=0-63' } });
    expect(mp4Part.status).toBe(206);
    expect(mp4Part.headers.get('content-range')).toBe(`bytes 0-63/${mp4Size}`);
    expect(Buffer.from(await mp4Part.arrayBuffer()).equals((await s3.read(`${prefix}/download.mp4`)).subarray(0, 64))).toBe(true);
    const thumbnail = await fetch(`${server.url}${view.recording.thumbnailUrl}`);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers.get('content-type')).toBe('image/jpeg');

    // A range of a segment: 206 with exactly those bytes, fetched from the bucket as a range.
    const ranged = await fetch(segmentUrl, { headers: { range: 'bytes=100-1099' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 100-1099/${segment.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(segment.subarray(100, 1100))).toBe(true);
    const tail = await fetch(segmentUrl, { headers: { range: 'bytes=-10' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(segment.subarray(segment.length - 10))).toBe(true);
    const past = await fetch(segmentUrl, { headers: { range: `bytes=${segment.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${segment.length}`);

    // Tokens hold as on disk: expired, someone else's (not in the class), another replay's, none at all.
    const scope = { kind: 'recording' as const, id: recording.id };
    const withToken = (token: string) => segmentUrl.replace(/\/media\/t\/[^/]+\//, `/media/t/${encodeURIComponent(token)}/`);
    const expired = server.mediaAccess.tokens.sign(scope, student.user.id, -5).token;
    const foreign = server.mediaAccess.tokens.sign(scope, outsider.user.id).token;
    const otherReplay = server.mediaAccess.tokens.sign({ kind: 'recording', id: crypto.randomUUID() }, student.user.id).token;
    for (const [token, code] of [
      [expired, 'token_expired'],
      [foreign, 'forbidden'],
      [otherReplay, 'token_invalid'],
    ] as const) {
      const refused = await fetch(withToken(token), { headers: { range: 'bytes=0-99' } });
      expect({ token: code, status: refused.status }).toEqual({ token: code, status: 403 });
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(code);
    }
    expect((await fetch(`${server.url}/media/recordings/${recording.id}/master.m3u8`)).status).toBe(403);

    // Captions made after the upload go to the bucket, beside the replay, and are served from there.
    const vtt = 'WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nFringes appear\n';
    const put = await teacher.client.request('PUT', `/api/media/recordings/${recording.id}/captions?name=fringes.vtt`, vtt, {
      origin: server.url,
      'content-type': 'text/vtt',
    });
    expect(put.status).toBe(200);
    expect((await s3.read(`${prefix}/captions.vtt`)).toString()).toContain('Fringes appear');
    const captions = await fetch(`${server.url}${put.body.captions.url}`);
    expect(captions.status).toBe(200);
    expect(await captions.text()).toContain('Fringes appear');

    // The course's storage counts what the bucket holds of the replay.
    const bucketBytes = (await s3.objects(`${prefix}/`)).reduce((sum, o) => sum + o.size, 0);
    const usage = (await teacher.client.get(`/api/courses/${courseId}/storage`)).body as CourseStorageView;
    expect(usage.replays.items).toEqual([expect.objectContaining({ id: recording.id, bytes: bucketBytes })]);

    // Deleting the replay empties its prefix in the bucket; its links stop working.
    expect((await del(teacher, `/api/media/recordings/${recording.id}`)).status).toBe(200);
    expect(await s3.objects(`${prefix}/`)).toEqual([]);
    expect((await fetch(segmentUrl)).status).toBe(404);
  });

  it('plays a replay from this machine while the store is down and uploads it once the store is back', async () => {
    const { student } = people;
    const earlier = await recordClass(server, await addClass('Diffraction, live'));
    await inBucketOnly(prefixOf(earlier));
    const earlierView = (await student.client.get(`/api/media/recordings/${earlier.id}`)).body;

    await s3.stop();
    // The store comes back whatever happens here (the next test needs it).
    let resumed = false;
    onTestFinished(async () => void (resumed || (await s3.resume())));
    const recording = await recordClass(server, await addClass('Polarisation, live'));
    const prefix = prefixOf(recording);
    // The upload failed and waits for its retry; the replay plays meanwhile from its local copy.
    await until('the failed upload to be retried later', () => server.mediaStorage.pendingUploads.includes(prefix));
    expect(fs.existsSync(path.join(localDir(prefix), 'master.m3u8'))).toBe(true);
    // Operators see it waiting (from this machine, /metrics needs no token).
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^lectern_storage_pending_uploads 1$/m);
    const view = (await student.client.get(`/api/media/recordings/${recording.id}`)).body;
    const local = await play(`${server.url}${view.recording.playlistUrl}`);
    // A replay only the store has is refused clearly while the store is down, not as a missing file.
    const unavailable = await fetch(`${server.url}${earlierView.recording.playlistUrl}`);
    expect(unavailable.status).toBe(503);
    expect(((await unavailable.json()) as { error: { code: string } }).error.code).toBe('storage_unavailable');

    await s3.resume();
    resumed = true;
    // Retried on its own (the first pause is a few seconds), then the local copy goes.
    await inBucketOnly(prefix);
    expect((await s3.objects(`${prefix}/`)).length).toBeGreaterThan(3);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/^lectern_storage_pending_uploads 0$/m);
    const fromBucket = await play(`${server.url}${view.recording.playlistUrl}`);
    expect(fromBucket.segment.equals(local.segment)).toBe(true);
    expect((await play(`${server.url}${earlierView.recording.playlistUrl}`)).segments).toBeGreaterThan(0);
  }, 60_000);
});

describe('lesson videos in object storage', () => {
  it('keeps an uploaded lesson video in the bucket, plays it from there and deletes it there', async () => {
    const { teacher, student, outsider } = people;
    const lesson = (await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Uploaded optics' })).body.lesson.id as string;
    const file = makeVideo(tmp, 'optics.mp4', 4);
    expect((await uploadLessonVideo(server.url, teacher.client, lesson, fs.readFileSync(file))).status).toBe(202);
    const prefix = `lessons/${lesson}/hls`;
    await until(
      'the transcoded video to be in the bucket and off this machine',
      async () => {
        const { body } = await teacher.client.get(`/api/lessons/${lesson}/video`);
        return (
          body.video.status === 'ready' && !fs.existsSync(localDir(prefix)) && (await s3.objects(`${prefix}/master.m3u8`)).length === 1
        );
      },
      90_000,
    );
    const stored = await s3.objects(`${prefix}/`);
    expect(stored.some((o) => /\/\d+p\/index\.m3u8$/.test(o.key))).toBe(true);

    const playbackUrl = (await student.client.get(`/api/lessons/${lesson}`)).body.video.playbackUrl as string;
    const { segmentUrl, segment } = await play(`${server.url}${playbackUrl}`);
    expect(segment.equals(await s3.read(keyOf(segmentUrl, prefix)))).toBe(true);
    const ranged = await fetch(segmentUrl, { headers: { range: 'bytes=0-187' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(segment.subarray(0, 188))).toBe(true);
    // The token rides in the path (CDN-cacheable URLs); another person's or an expired one there is refused.
    expect(new URL(segmentUrl).pathname).toMatch(new RegExp(`^/media/t/[^/]+/${prefix}/`));
    const lessonScope = { kind: 'lesson' as const, id: lesson };
    for (const token of [
      server.mediaAccess.tokens.sign(lessonScope, outsider.user.id).token,
      server.mediaAccess.tokens.sign(lessonScope, student.user.id, -5).token,
    ]) {
      const refused = segmentUrl.replace(/\/media\/t\/[^/]+\//, `/media/t/${encodeURIComponent(token)}/`);
      expect((await fetch(refused)).status).toBe(403);
    }

    const usage = (await teacher.client.get(`/api/courses/${courseId}/storage`)).body as CourseStorageView;
    expect(usage.lessons.items.find((i) => i.id === lesson)!.bytes).toBe(stored.reduce((sum, o) => sum + o.size, 0));

    expect((await del(teacher, `/api/lessons/${lesson}/video`)).status).toBe(200);
    expect(await s3.objects(`lessons/${lesson}/`)).toEqual([]);
    expect((await fetch(segmentUrl)).status).toBe(404);
  }, 120_000);
});

describe('uploads interrupted by a stop', () => {
  it('uploads at the next start what a stopped server left on its disk', async () => {
    await s3.stop();
    let resumed = false;
    onTestFinished(async () => void (resumed || (await s3.resume())));
    const recording = await recordClass(server, await addClass('Dispersion, live'));
    const prefix = prefixOf(recording);
    await until('the failed upload to be retried later', () => server.mediaStorage.pendingUploads.includes(prefix));
    // The server stops before the store is back (last in this file: the server's URL changes): the replay
    // stays on its disk only.
    server = await server.restart(async () => {
      expect(fs.existsSync(path.join(localDir(prefix), 'master.m3u8'))).toBe(true);
      await s3.resume();
      resumed = true;
    });
    await inBucketOnly(prefix);
  }, 60_000);
});
