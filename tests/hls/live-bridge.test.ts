// The HLS bridge end to end on the real server: ffmpeg-generated media as the teacher's producers in a real
// mediasoup Router, the bridge's ffmpeg ladder, the signed /media routes, ffprobe on served segments, access
// refused to outsiders and expired links, a killed ffmpeg, and the finalised recording.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { courses, enrollments, lessons, liveClasses } from '../../server/db/schema.ts';
import type { HlsBridge } from '../../server/hls/hls-bridge.ts';
import { Accounts } from '../../server/auth/accounts.ts';
import { Permissions } from '../../server/auth/permissions.ts';
import { HlsService } from '../../server/hls/hls-service.ts';
import { parseMediaPlaylist } from '../../server/hls/playlist.ts';
import { registerUser, type HttpClient } from '../helpers/http-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { decodedSeconds, expectedLevel, expectedProfile, parseMasterPlaylist, probeSegment } from './hls-probe.ts';
import { RtpFeed, TestRoom, TEST_MEDIA_CODECS } from './rtp-feeder.ts';

let server: TestServer;
type Person = Awaited<ReturnType<typeof registerUser>>;
let teacher: Person;
let student: Person;
let outsider: Person;
let courseId: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(250);
  }
}

async function newClass(title: string): Promise<{ classId: string; lessonId: string }> {
  const db = server.db;
  const [lesson] = await db
    .insert(lessons)
    .values({ courseId, position: Date.now() % 100000, title: `${title} (replay)` })
    .returning();
  const [row] = await db
    .insert(liveClasses)
    .values({
      courseId,
      lessonId: lesson!.id,
      teacherId: teacher.user.id,
      title,
      scheduledAt: new Date(),
      status: 'live',
      startedAt: new Date(),
    })
    .returning();
  return { classId: row!.id, lessonId: lesson!.id };
}

/** A live class whose teacher "publishes" an ffmpeg test pattern + tone; the HLS service bridges it. */
async function goLive(
  classId: string,
  size = { width: 1280, height: 720 },
): Promise<{ room: TestRoom; feed: RtpFeed; bridge: HlsBridge; recordingId: string }> {
  const { router } = await server.workers.createRouter({ mediaCodecs: TEST_MEDIA_CODECS });
  const room = new TestRoom(classId, router);
  const feed = await RtpFeed.start(router, { ...size, fps: 30 });
  room.addFeed(feed, teacher.user.id);
  const bridge = (await server.hls.attach(room))!;
  const recordingId = server.hls.live(classId)!.recordingId;
  return { room, feed, bridge, recordingId };
}

async function get(client: HttpClient | null, url: string): Promise<Response> {
  return fetch(server.url + url, { headers: client ? { cookie: client.cookieHeader } : {} });
}

beforeAll(async () => {
  server = await startTestServer({ db: 'pglite' });
  teacher = await registerUser(server.url, 'teacher', 'Grace Teacher');
  student = await registerUser(server.url, 'student', 'Enrolled Student');
  outsider = await registerUser(server.url, 'student', 'Outsider');
  const [course] = await server.db.insert(courses).values({ teacherId: teacher.user.id, title: 'HLS course', published: true }).returning();
  courseId = course!.id;
  await server.db.insert(enrollments).values({ userId: student.user.id, courseId });
});

afterAll(async () => {
  await server?.stop();
});

describe('live HLS ladder', () => {
  let live: Awaited<ReturnType<typeof goLive>>;
  let classId: string;
  let lessonId: string;
  let masterUrl: string;
  let segmentUrl: string;
  let liveStartedAt: number;

  beforeAll(async () => {
    ({ classId, lessonId } = await newClass('Ladder class'));
    // A 480p camera (what a laptop often sends): the top rung follows it, the CPU stays light for the suite.
    live = await goLive(classId, { width: 854, height: 480 });
    // The class's media is live from the moment the bridge's ffmpeg runs.
    liveStartedAt = await new Promise<number>((resolve) => live.bridge.once('runstart', () => resolve(Date.now())));
  });

  afterAll(async () => {
    live.room.close();
    await live.feed.stop();
  });

  it('lists >= 3 variants within 15 s, and each variant serves segments that ffprobe agrees with', async () => {
    const started = Date.now();
    masterUrl = await until(
      'a live playlist URL',
      async () => {
        const res = await student.client.get(`/api/media/classes/${classId}/live`);
        return res.status === 200 && res.body.status === 'live' ? (res.body.playlistUrl as string) : null;
      },
      15_000,
    );
    const masterRes = await get(null, masterUrl);
    expect(masterRes.status).toBe(200);
    expect(masterRes.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(masterRes.headers.get('cache-control')).toMatch(/max-age=1/);
    const variants = parseMasterPlaylist(await masterRes.text());
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(variants.length).toBeGreaterThanOrEqual(3);

    const base = masterUrl.slice(0, masterUrl.indexOf('master.m3u8'));
    for (const v of variants) {
      const playlist = await until(`segments of ${v.resolution}`, async () => {
        const text = await (await get(null, base + v.uri)).text();
        const parsed = parseMediaPlaylist(text);
        return parsed.segments.length >= 2 ? parsed : null;
      });
      const seg = playlist.segments.at(-1)!;
      const rungDir = v.uri.slice(0, v.uri.indexOf('/') + 1);
      const url = server.url + base + rungDir + seg.uri;
      segmentUrl ??= base + rungDir + seg.uri;
      const res = await fetch(url);
      expect(res.headers.get('content-type')).toBe('video/mp2t');
      expect(res.headers.get('cache-control')).toContain('immutable');
      const probe = await probeSegment(url);
      expect(`${probe.width}x${probe.height}`).toBe(v.resolution);
      const [videoCodec, audioCodec] = v.codecs.split(',');
      expect(probe.videoCodec).toBe('h264');
      expect(probe.videoProfile).toBe(expectedProfile(videoCodec!));
      expect(probe.videoLevel).toBe(expectedLevel(videoCodec!));
      expect(audioCodec).toBe('mp4a.40.2');
      expect(probe.audioCodec).toBe('aac');
      expect(probe.audioProfile).toBe('LC');
    }
  });

  it('refuses playlists and segments to a user not allowed into the class, and refuses expired links', async () => {
    expect((await outsider.client.get(`/api/media/classes/${classId}/live`)).status).toBe(403);
    const strip = (u: string) => u.replace(/token=[^&]+/, '');
    // No token, and a token of the outsider's own (as if leaked or issued before they lost access).
    const outsiderToken = server.hls.sign({ kind: 'class', id: classId }, outsider.user.id).token;
    for (const url of [masterUrl, segmentUrl]) {
      expect((await get(outsider.client, strip(url))).status).toBe(403);
      const res = await get(outsider.client, strip(url) + `token=${encodeURIComponent(outsiderToken)}`);
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe('forbidden');
    }
    // The enrolled student's link, expired.
    const expired = server.hls.tokens.sign({ kind: 'class', id: classId }, student.user.id, 60, Date.now() - 10 * 60_000).token;
    for (const url of [masterUrl, segmentUrl]) {
      const res = await get(null, strip(url) + `token=${encodeURIComponent(expired)}`);
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe('token_expired');
    }
    // A token for another class does not open this one.
    const other = await newClass('Other class');
    const otherToken = server.hls.sign({ kind: 'class', id: other.classId }, student.user.id).token;
    expect((await get(null, strip(masterUrl) + `token=${encodeURIComponent(otherToken)}`)).status).toBe(403);
  });

  it('finalises the recording when the class ends: ready, ENDLIST, duration close to the live time, thumbnail', async () => {
    // Let the class run for a while (~20 s of media in all) before it ends.
    const liveFor = 20_000 - (Date.now() - liveStartedAt);
    if (liveFor > 0) await sleep(liveFor);
    const exits: { runId: number; code: number | null; signal: NodeJS.Signals | null; expected: boolean }[] = [];
    live.bridge.on('runexit', (e) => exits.push(e));
    const endedAt = Date.now();
    live.room.close();
    const liveSeconds = (endedAt - liveStartedAt) / 1000;
    const rec = await until(
      'the recording to be ready',
      async () => {
        const r = await server.hls.recording(live.recordingId);
        return r && (r.status === 'ready' || r.status === 'failed') ? r : null;
      },
      60_000,
    );
    expect(rec.error).toBeNull();
    expect(rec.status).toBe('ready');
    expect(rec.lessonId).toBe(lessonId);
    expect(Math.abs(rec.durationSeconds - liveSeconds) / liveSeconds).toBeLessThanOrEqual(0.1);
    expect(rec.sizeBytes).toBeGreaterThan(100_000);
    expect(fs.statSync(path.join(server.dataDir, rec.thumbnailPath!)).size).toBeGreaterThan(1000);

    const replay = await student.client.get(`/api/media/recordings/${rec.id}`);
    expect(replay.status).toBe(200);
    expect(replay.body.lesson.id).toBe(lessonId);
    const master = replay.body.recording.playlistUrl as string;
    const variants = parseMasterPlaylist(await (await get(null, master)).text());
    expect(variants.length).toBeGreaterThanOrEqual(3);
    const base = master.slice(0, master.indexOf('master.m3u8'));
    const vod = await (await get(null, base + variants[0]!.uri)).text();
    expect(vod).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(vod.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
    const thumb = await get(null, replay.body.recording.thumbnailUrl);
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
    expect((await outsider.client.get(`/api/media/recordings/${rec.id}`)).status).toBe(403);
    const [lesson] = await server.db.select().from(lessons).where(eq(lessons.id, lessonId));
    expect(lesson!.durationSeconds).toBe(rec.durationSeconds);

    // The end of the class was clean: ffmpeg reached the end of its RTP input (RTCP BYE) and exited by
    // itself, neither interrupted nor killed, so it flushed its last segment, which is listed and plays.
    expect(exits.at(-1)).toEqual({ runId: live.bridge.runIds.at(-1), code: 0, signal: null, expected: true });
    const last = parseMediaPlaylist(vod).segments.at(-1)!;
    const lastFile = path.join(server.dataDir, 'recordings', rec.id, variants[0]!.uri.split('/')[0]!, last.uri.split('?')[0]!);
    expect(fs.statSync(lastFile).size).toBeGreaterThan(1000);
    const lastProbe = await probeSegment(lastFile);
    expect(`${lastProbe.width}x${lastProbe.height}`).toBe(variants[0]!.resolution);
    expect(lastProbe.audioCodec).toBe('aac');
    expect(await decodedSeconds(lastFile)).toBeGreaterThan(0);
  });
});

describe('ffmpeg dies mid-class', () => {
  it('restarts: the live playlist keeps growing after a discontinuity and the recording is complete', async () => {
    const { classId } = await newClass('Crash class');
    const live = await goLive(classId);
    try {
      const { token } = server.hls.sign({ kind: 'class', id: classId }, student.user.id);
      const playlistOf = async () => (await get(null, `/media/classes/${classId}/live/360p/index.m3u8?token=${token}`)).text();
      await until('first segments', async () => parseMediaPlaylist(await playlistOf()).segments.length >= 3, 40_000).catch(async () => {
        // The top rung of this source is 720p, so the 360p rung exists; a failure here is a real one.
        throw new Error(`no segments: ${await playlistOf()}`);
      });
      const pid = live.bridge.ffmpegPid!;
      const restarted = new Promise<{ runId: number }>((resolve) => live.bridge.once('runstart', resolve));
      process.kill(pid, 'SIGKILL');
      const { runId } = await restarted;
      expect(runId).toBeGreaterThan(0);
      expect(live.bridge.ffmpegPid).not.toBe(pid);
      const after = await until(
        'segments of the new run',
        async () => {
          const text = await playlistOf();
          return text.includes(`run-${runId}-00002.ts`) ? text : null;
        },
        40_000,
      );
      expect(after).toMatch(/#EXT-X-DISCONTINUITY/);
      // A segment of the new run plays (ffprobe decodes it).
      const seg = parseMediaPlaylist(after).segments.at(-1)!;
      const probe = await probeSegment(`${server.url}/media/classes/${classId}/live/360p/${seg.uri}`);
      expect(probe.height).toBe(360);
    } finally {
      live.room.close();
      await live.feed.stop();
    }
    const rec = await until(
      'the recording to be finalised',
      async () => {
        const r = await server.hls.recording(live.recordingId);
        return r && (r.status === 'ready' || r.status === 'failed') ? r : null;
      },
      60_000,
    );
    expect(rec.error).toBeNull();
    expect(rec.status).toBe('ready');
    const vod = fs.readFileSync(path.join(server.dataDir, 'recordings', rec.id, '360p', 'index.m3u8'), 'utf8');
    expect(vod).toContain('#EXT-X-DISCONTINUITY');
    expect(vod).toContain('run-0-00000.ts');
    expect(vod).toMatch(/run-[1-9]\d*-00000\.ts/);
    expect(vod.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
  });
});

describe('a server restart mid-class', () => {
  it('finalises a recording left in status recording from what is on disk', async () => {
    const { classId } = await newClass('Interrupted class');
    const live = await goLive(classId);
    const { token } = server.hls.sign({ kind: 'class', id: classId }, student.user.id);
    await until(
      'segments',
      async () =>
        parseMediaPlaylist(await (await get(null, `/media/classes/${classId}/live/360p/index.m3u8?token=${token}`)).text()).segments
          .length >= 2,
      40_000,
    );
    // The process "dies": ffmpeg is killed and nobody finalises; the row stays in `recording`.
    live.bridge.removeAllListeners('close');
    live.bridge.killEncoder();
    await live.bridge.close();
    await live.feed.stop();
    live.room.close();
    expect((await server.hls.recording(live.recordingId))!.status).toBe('recording');
    // The next process's start-up: a fresh HlsService over the same database and data directory.
    const s = server;
    const next = new HlsService({
      db: s.db,
      dataDir: s.config.dataDir,
      ffmpegPath: s.config.ffmpegPath,
      enabled: true,
      mediaSecret: undefined,
      permissions: new Permissions(s.db),
      accounts: new Accounts(s.db),
      log: s.log,
    });
    expect(await next.recoverInterrupted()).toBeGreaterThanOrEqual(1);
    const rec = (await s.hls.recording(live.recordingId))!;
    expect(rec.status).toBe('ready');
    expect(rec.durationSeconds).toBeGreaterThanOrEqual(2);
    const vod = fs.readFileSync(path.join(server.dataDir, 'recordings', rec.id, '720p', 'index.m3u8'), 'utf8');
    expect(vod.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
    await next.close();
  });
});
