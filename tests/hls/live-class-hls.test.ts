// The HLS broadcast and recording of a real live class, end to end: the teacher goes live from the studio in
// Chromium (simulcast VP8 camera, Opus microphone with DTX: what the product publishes) into the real
// ClassroomRoom, and the HLS bridge makes the ladder from it. The pages send known media (known-media.ts): a
// camera of one colour that shows its content time, two colour bars as the screen, a 440 Hz tone as the
// teacher's voice and 880 Hz as the stage student's. Checked from what viewers get over /media: the ladder
// (ffprobe), access, the picture following screen share and a paused camera, the stage voice heard in the
// mix, a killed ffmpeg, and the recording, which must cover the content that was sent.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import HLS from 'hls-parser';
import { eq } from 'drizzle-orm';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lessons, liveClasses } from '../../server/db/schema.ts';
import type { HlsBridge } from '../../server/hls/hls-bridge.ts';
import type { Rendition } from '../../server/hls/ladder.ts';
import { launchChromium } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createLiveClass, type ClassFixture, type Person } from '../sfu/fixtures.ts';
import { decodedSeconds, expectedLevel, expectedProfile, parseMasterPlaylist, probeSegment } from './hls-probe.ts';
import {
  CAMERA,
  colorDistance,
  contentTime,
  knownMediaScript,
  regionColor,
  SCREEN,
  toneStrengths,
  type Region,
  type Rgb,
} from './known-media.ts';

const TEACHER_TONE = 440;
const STAGE_TONE = 880;

let server: TestServer;
let browser: Browser;
let f: ClassFixture;
let lessonId: string;
let teacher: Page;
let student: Page;
let token: string;
/** The runs the tests waited for (each wrote segments). */
const seenRuns: number[] = [];

/** Where the picture shows what: the main area's upper left, and the inside of the camera overlay (bottom right). */
const MAIN: Region = { x: 0.05, y: 0.1, w: 0.15, h: 0.3 };
const OVERLAY: Region = { x: 0.88, y: 0.8, w: 0.07, h: 0.07 };

async function contextFor(person: Person, toneHz: number): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const [name, value] = person.client.cookieHeader.split('=') as [string, string];
  await context.addCookies([{ name, value, url: server.url }]);
  await context.addInitScript(knownMediaScript(toneHz));
  return context;
}

/** Which of the known colours a region of a segment shows (the nearest, and clearly so). */
async function shows(segment: string, region: Region): Promise<'camera' | 'screen-left' | 'screen-right' | 'unclear'> {
  const seen = await regionColor(segment, region);
  const known: [string, Rgb][] = [
    ['camera', CAMERA.rgb],
    ['screen-left', SCREEN.left],
    ['screen-right', SCREEN.right],
  ];
  const [best, second] = known.map(([name, rgb]) => ({ name, d: colorDistance(seen, rgb) })).sort((a, b) => a.d - b.d);
  return best!.d < 120 && best!.d * 2 < second!.d ? (best!.name as 'camera') : 'unclear';
}

const bridge = (): HlsBridge => server.liveHls.bridge(f.classId)!;
const top = (): Rendition => bridge().ladder![0]!;
const liveUrl = (file: string) => `${server.url}/media/classes/${f.classId}/live/${file}?token=${encodeURIComponent(token)}`;
const segmentUrl = (rung: string, runId: number, index: number) => liveUrl(`${rung}/run-${runId}-${String(index).padStart(5, '0')}.m4s`);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-live-hls-'));

/** A fragmented MP4 segment as a file ffmpeg reads on its own: its initialisation section (EXT-X-MAP) and the segment. */
async function joined(segment: string, init: string): Promise<string> {
  const [a, b] = await Promise.all(
    [init, segment].map(async (url) => {
      const res = await fetch(url);
      if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    }),
  );
  const file = path.join(scratch, `${seenFiles++}.mp4`);
  fs.writeFileSync(file, Buffer.concat([a!, b!]));
  return file;
}
let seenFiles = 0;

/** A live segment of a run, with its run's init section. */
const segmentFile = (rung: string, runId: number, index: number) =>
  joined(segmentUrl(rung, runId, index), liveUrl(`${rung}/run-${runId}-init.mp4`));

async function livePlaylist(rung: string): Promise<string> {
  const res = await fetch(liveUrl(`${rung}/index.m3u8`));
  if (res.status !== 200) throw new Error(`live playlist: ${res.status}`);
  return res.text();
}

function mediaPlaylist(text: string): HLS.types.MediaPlaylist {
  const parsed = HLS.parse(text);
  if (parsed.isMasterPlaylist) throw new Error('expected a media playlist');
  return parsed;
}

/** Waits for a run after `afterRunId` to list `segments` segments in the top rung's live playlist; returns its id. */
async function nextRun(afterRunId: number, segments = 3): Promise<number> {
  let found = -1;
  await expect
    .poll(
      async () => {
        const runId = bridge().runIds.at(-1);
        if (runId === undefined || runId <= afterRunId || !bridge().ladder) return false;
        const text = await livePlaylist(top().name).catch(() => '');
        if (!text.includes(`run-${runId}-${String(segments - 1).padStart(5, '0')}.m4s`)) return false;
        found = runId;
        seenRuns.push(runId);
        return true;
      },
      { timeout: 60_000, interval: 250 },
    )
    .toBe(true);
  return found;
}

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer({ app: 'build' }), launchChromium()]);
  f = await createLiveClass(server, { title: 'Signals, on HLS' });
  const [lesson] = await server.db.insert(lessons).values({ courseId: f.courseId, position: 1, title: 'Signals (replay)' }).returning();
  lessonId = lesson!.id;
  await server.db.update(liveClasses).set({ lessonId }).where(eq(liveClasses.id, f.classId));
  token = server.mediaAccess.sign({ kind: 'class', id: f.classId }, f.students[0]!.user.id).token;
  student = await (await contextFor(f.students[0]!, STAGE_TONE)).newPage();
  teacher = await (await contextFor(f.teacher, TEACHER_TONE)).newPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  fs.rmSync(scratch, { recursive: true, force: true });
});

describe('a live class on HLS', () => {
  let runId = -1;

  it('goes live from the studio: the real room bridges the product codecs into a ladder that ffprobe agrees with', async () => {
    await student.goto(`${server.url}/classes/${f.classId}`);
    await teacher.goto(`${server.url}/studio/${f.classId}`);
    await teacher.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    await expect.poll(() => teacher.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');

    // What the browser published into the class's room: a simulcast VP8 camera and an Opus mic with DTX.
    const room = server.rooms.get(f.classId)!;
    await expect
      .poll(
        () =>
          room
            .mediaSources()
            .map((s) => s.source)
            .sort(),
        { timeout: 20_000 },
      )
      .toEqual(['camera', 'mic']);
    const cam = room.mediaSources().find((s) => s.source === 'camera')!.producer;
    const mic = room.mediaSources().find((s) => s.source === 'mic')!.producer;
    expect(cam.type).toBe('simulcast');
    expect(cam.rtpParameters.encodings).toHaveLength(3);
    expect(mic.rtpParameters.codecs[0]).toMatchObject({ mimeType: 'audio/opus', parameters: expect.objectContaining({ usedtx: 1 }) });

    await expect
      .poll(async () => (await f.students[0]!.client.get(`/api/media/classes/${f.classId}/live`)).body, { timeout: 60_000, interval: 250 })
      .toMatchObject({ status: 'live' });
    const masterRes = await fetch(liveUrl('master.m3u8'));
    expect(masterRes.status).toBe(200);
    expect(masterRes.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(masterRes.headers.get('cache-control')).toMatch(/max-age=1/);
    const variants = parseMasterPlaylist(await masterRes.text());
    // The camera is 640x360: the top rung follows it, and two below.
    expect(variants.map((v) => v.resolution)).toEqual(['640x360', '426x240', '320x180']);

    runId = await nextRun(runId);
    for (const v of variants) {
      const rung = v.uri.split('/')[0]!;
      const res = await fetch(segmentUrl(rung, runId, 1));
      expect(res.headers.get('content-type')).toBe('video/iso.segment');
      expect(res.headers.get('cache-control')).toContain('immutable');
      const probe = await probeSegment(await segmentFile(rung, runId, 1));
      expect(`${probe.width}x${probe.height}`).toBe(v.resolution);
      const [videoCodec, audioCodec] = v.codecs.split(',');
      expect(probe.videoCodec).toBe('h264');
      expect(probe.videoProfile).toBe(expectedProfile(videoCodec!));
      expect(probe.videoLevel).toBe(expectedLevel(videoCodec!));
      expect(audioCodec).toBe('mp4a.40.2');
      expect(probe.audioCodec).toBe('aac');
      expect(probe.audioProfile).toBe('LC');
    }
    // Low-Latency HLS: parts of the newest segments and of the one being written, a preload hint, blocking
    // reloads and where the other rungs are; whole segments listed too, for players without LL-HLS.
    const live = mediaPlaylist(await livePlaylist(top().name));
    expect(live.partTargetDuration).toBeGreaterThan(0.2);
    expect(live.lowLatencyCompatibility).toMatchObject({ canBlockReload: true });
    expect(live.renditionReports).toHaveLength(variants.length - 1);
    expect(live.segments.filter((s) => s.uri).length).toBeGreaterThanOrEqual(3);
    const edge = live.segments.at(-1)!;
    expect(edge.parts.at(-1)!.hint).toBe(true);
    const done = edge.parts.filter((p) => !p.hint);
    // Through the route: a blocking reload for the part after the newest is answered once it exists.
    const nextPart = `_HLS_msn=${edge.mediaSequenceNumber}&_HLS_part=${done.length}`;
    const blocked = await fetch(`${liveUrl(`${top().name}/index.m3u8`)}&${nextPart}`);
    expect(blocked.status).toBe(200);
    const answer = mediaPlaylist(await blocked.text());
    const newest = answer.segments.flatMap((s) => s.parts.filter((p) => !p.hint).map((p) => [s.mediaSequenceNumber, p.uri] as const));
    expect(newest.some(([msn, uri]) => msn > edge.mediaSequenceNumber || uri.includes(`-p${done.length}.m4s`))).toBe(true);
    const tooFar = await fetch(`${liveUrl(`${top().name}/index.m3u8`)}&_HLS_msn=${edge.mediaSequenceNumber + 5}`);
    expect(tooFar.status).toBe(400);
    // The newest part listed (the segment being written may have none yet, just after a segment ended).
    const listed = answer.segments.flatMap((s) => s.parts.filter((p) => !p.hint)).at(-1)!;
    const part = await fetch(liveUrl(`${top().name}/${listed.uri.split('?')[0]}`));
    expect(part.status).toBe(200);
    expect(part.headers.get('cache-control')).toContain('immutable');
    // The camera's picture, and the teacher's voice alone.
    expect(await shows(await segmentFile(top().name, runId, 2), MAIN)).toBe('camera');
    const [teacherTone, stageTone] = await toneStrengths(await segmentFile(top().name, runId, 2), [TEACHER_TONE, STAGE_TONE]);
    expect(teacherTone).toBeGreaterThan(0.6);
    expect(stageTone).toBeLessThan(0.05);
    // Media flowed, so the class has its recording from now on.
    expect((await server.recordings.ofClass(f.classId)).map((r) => r.status)).toEqual(['recording']);
  });

  it('refuses playlists and segments to a user not allowed into the class, and refuses expired links', async () => {
    expect((await f.outsider.client.get(`/api/media/classes/${f.classId}/live`)).status).toBe(403);
    const urls = [liveUrl('master.m3u8'), segmentUrl(top().name, runId, 1)].map((u) => u.replace(/token=[^&]+/, ''));
    // No token, and a token of the outsider's own (as if leaked or issued before they lost access).
    const outsiderToken = server.mediaAccess.sign({ kind: 'class', id: f.classId }, f.outsider.user.id).token;
    for (const url of urls) {
      expect((await fetch(url)).status).toBe(403);
      const res = await fetch(url + `token=${encodeURIComponent(outsiderToken)}`);
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe('forbidden');
    }
    const expired = server.mediaAccess.tokens.sign({ kind: 'class', id: f.classId }, f.students[0]!.user.id, 60, Date.now() - 600_000);
    for (const url of urls) {
      const res = await fetch(url + `token=${encodeURIComponent(expired.token)}`);
      expect(res.status).toBe(403);
      expect((await res.json()).error.code).toBe('token_expired');
    }
    // A token for another class does not open this one; the student's own does.
    const other = await createLiveClass(server, { title: 'Another class' });
    const otherToken = server.mediaAccess.sign({ kind: 'class', id: other.classId }, f.students[0]!.user.id).token;
    expect((await fetch(urls[0]! + `token=${encodeURIComponent(otherToken)}`)).status).toBe(403);
    expect((await fetch(urls[0]! + `token=${encodeURIComponent(token)}`)).status).toBe(200);

    // The signed URL the API hands out carries the token in a path prefix: the playlists under it list plain
    // relative URIs (the same for every viewer, so a CDN may share them) and every file keeps the prefix.
    const view = (await f.students[0]!.client.get(`/api/media/classes/${f.classId}/live`)).body as { playlistUrl: string; token: string };
    expect(view.playlistUrl).toBe(`/media/t/${view.token}/classes/${f.classId}/live/master.m3u8`);
    const prefixed = (t: string, file: string) => `${server.url}/media/t/${encodeURIComponent(t)}/classes/${f.classId}/live/${file}`;
    const master = await (await fetch(server.url + view.playlistUrl)).text();
    expect(parseMasterPlaylist(master).map((v) => v.uri)).toEqual(bridge().ladder!.map((r) => `${r.name}/index.m3u8`));
    const rungPlaylist = await fetch(prefixed(view.token, `${top().name}/index.m3u8`));
    expect(rungPlaylist.headers.get('cache-control')).toBe('public, no-cache');
    const listed = mediaPlaylist(await rungPlaylist.text());
    expect(listed.segments.filter((s) => s.uri).every((s) => !s.uri.includes('token') && !s.map.uri.includes('token'))).toBe(true);
    const segmentName = listed.segments.find((s) => s.uri)!.uri;
    expect((await fetch(prefixed(view.token, `${top().name}/${segmentName}`))).status).toBe(200);
    // Expired, foreign (another class) and a non-member's tokens are refused in the path too.
    for (const bad of [expired.token, otherToken, outsiderToken, 'not-a-token']) {
      for (const file of ['master.m3u8', `${top().name}/index.m3u8`, `${top().name}/${segmentName}`]) {
        expect((await fetch(prefixed(bad, file))).status).toBe(403);
      }
    }
  });

  it('shows the shared screen with the camera as an overlay, in every rung, after a discontinuity', async () => {
    await teacher.getByRole('button', { name: 'Share screen' }).click();
    runId = await nextRun(runId);
    // In the recording so far (an EVENT playlist of every segment), an earlier run's segments and the new
    // run's, joined by a discontinuity.
    const recordingId = server.liveHls.recordingOf(f.classId)!;
    const recordingToken = server.mediaAccess.sign({ kind: 'recording', id: recordingId }, f.students[0]!.user.id).token;
    const res = await fetch(
      `${server.url}/media/recordings/${recordingId}/${top().name}/index.m3u8?token=${encodeURIComponent(recordingToken)}`,
    );
    const recording = mediaPlaylist(await res.text());
    expect(recording.playlistType).toBe('EVENT');
    const firstOfRun = recording.segments.findIndex((s) => s.uri.startsWith(`run-${runId}-00000.m4s`));
    expect(firstOfRun).toBeGreaterThan(0);
    expect(recording.segments[firstOfRun]!.discontinuity).toBe(true);
    expect(recording.segments[firstOfRun - 1]!.uri).not.toMatch(new RegExp(`^run-${runId}-`));
    for (const rung of bridge().ladder!) {
      const probe = await probeSegment(await segmentFile(rung.name, runId, 2));
      expect(`${probe.width}x${probe.height}`).toBe(`${rung.width}x${rung.height}`);
      expect(probe.audioCodec).toBe('aac');
    }
    const segment = await segmentFile(top().name, runId, 2);
    expect(await shows(segment, MAIN)).toBe('screen-left');
    expect(await shows(segment, OVERLAY)).toBe('camera');
  });

  it('drops the overlay while the camera is off, and the screen keeps flowing', async () => {
    await teacher.getByRole('button', { name: 'Turn camera off' }).click();
    runId = await nextRun(runId, 4);
    const segment = await segmentFile(top().name, runId, 3);
    expect(await shows(segment, OVERLAY)).toBe('screen-right');
    expect(await shows(segment, MAIN)).toBe('screen-left');
    expect(await decodedSeconds(segment)).toBeGreaterThan(0.5);
    // The voice goes on.
    expect((await toneStrengths(segment, [TEACHER_TONE]))[0]).toBeGreaterThan(0.6);
  });

  it('goes back to the camera when sharing stops', async () => {
    await teacher.getByRole('button', { name: 'Turn camera on' }).click();
    await teacher.getByRole('button', { name: 'Stop sharing' }).click();
    // One new run or two (the two clicks may land in one reconfiguration or not): the last shows the camera.
    const room = server.rooms.get(f.classId)!;
    await expect.poll(() => room.mediaSources().some((s) => s.source === 'screen')).toBe(false);
    let shown = 'screen';
    for (let i = 0; i < 3 && shown !== 'camera'; i++) {
      runId = await nextRun(runId);
      shown = await shows(await segmentFile(top().name, runId, 2), MAIN);
    }
    expect(shown).toBe('camera');
    expect(await shows(await segmentFile(top().name, runId, 2), OVERLAY)).toBe('camera');
  });

  it('mixes the voice of a student on stage into the stream (and not their camera)', async () => {
    await teacher.getByRole('button', { name: 'Invite on stage' }).click({ timeout: 20_000 });
    await student.getByRole('button', { name: 'Join the stage' }).click({ timeout: 20_000 });
    const room = server.rooms.get(f.classId)!;
    await expect.poll(() => room.mediaSources().filter((s) => s.userId === f.students[0]!.user.id).length, { timeout: 30_000 }).toBe(2);
    const before = runId;
    runId = await nextRun(runId);
    const [teacherTone, stageTone, neither] = await toneStrengths(await segmentFile(top().name, runId, 2), [TEACHER_TONE, STAGE_TONE, 660]);
    expect(teacherTone).toBeGreaterThan(0.2);
    expect(stageTone).toBeGreaterThan(0.2);
    expect(neither).toBeLessThan(0.05);
    // Before the stage, only the teacher was heard (so the check above can fail).
    expect((await toneStrengths(await segmentFile(top().name, before, 1), [STAGE_TONE]))[0]).toBeLessThan(0.05);
    // The picture is still the teacher's camera, not the student's (both cameras show the same colour, but
    // the run's inputs are the teacher's camera and two microphones).
    const dir = path.join(server.dataDir, 'recordings', server.liveHls.recordingOf(f.classId)!);
    // One SDP per stream (each its own ffmpeg input).
    const sdp = fs
      .readdirSync(dir)
      .filter((n) => n.startsWith(`run-${runId}-`) && n.endsWith('.sdp'))
      .map((n) => fs.readFileSync(path.join(dir, n), 'utf8'))
      .join('');
    expect(sdp.match(/^m=video/gm)).toHaveLength(1);
  });

  it('restarts a killed ffmpeg: the live playlist goes on after a discontinuity', async () => {
    const pid = bridge().ffmpegPid!;
    const restarted = new Promise<{ runId: number }>((resolve) => bridge().once('runstart', resolve));
    process.kill(pid, 'SIGKILL');
    const { runId: next } = await restarted;
    expect(next).toBeGreaterThan(runId);
    expect(bridge().ffmpegPid).not.toBe(pid);
    runId = await nextRun(runId);
    const lowest = bridge().ladder!.at(-1)!;
    const playlist = mediaPlaylist(await livePlaylist(lowest.name));
    const firstOfRun = playlist.segments.findIndex((s) => s.uri.startsWith(`run-${runId}-00000.m4s`));
    // Listed after the old run's segments it carries the discontinuity; listed first, the window's sequence counts it.
    if (firstOfRun > 0) expect(playlist.segments[firstOfRun]!.discontinuity).toBe(true);
    else expect(playlist.discontinuitySequenceBase).toBeGreaterThan(0);
    const probe = await probeSegment(await segmentFile(lowest.name, runId, 1));
    expect(probe.height).toBe(lowest.height);
  });

  it('replaces an ffmpeg that falls behind the class (starved of CPU) with a lighter run at the live edge', async () => {
    const b = bridge();
    const pid = b.ffmpegPid!;
    const preset = b.tuning.preset;
    const exits: { runId: number; expected: boolean }[] = [];
    const onExit = (e: { runId: number; expected: boolean }) => exits.push(e);
    b.on('runexit', onExit);
    const replaced = new Promise<{ runId: number }>((resolve) => b.once('runstart', resolve));
    // Stopped 950 ms of every second, ffmpeg cannot keep up with the class however fast it encodes (it
    // reads the packets held meanwhile in a burst when it resumes, and encodes a picture for every 33 ms).
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(pid, s);
      } catch {
        // Gone already: it was replaced.
      }
    };
    const starve = setInterval(() => {
      signal('SIGSTOP');
      setTimeout(() => signal('SIGCONT'), 950);
    }, 1000);
    let next: number;
    try {
      ({ runId: next } = await replaced);
    } finally {
      clearInterval(starve);
      setTimeout(() => signal('SIGCONT'), 1000);
      b.off('runexit', onExit);
    }
    expect(next).toBeGreaterThan(runId);
    expect(b.lagRestarts).toBe(1);
    expect(b.tuning.preset).not.toBe(preset);
    expect(b.ffmpegPid).not.toBe(pid);
    // The lagging run was stopped on purpose, not restarted as a crash.
    expect(exits).toContainEqual(expect.objectContaining({ runId, expected: true }));
    runId = await nextRun(runId);
    // The new run publishes its parts soon after their media arrived again.
    const recent = b.partDelays().slice(-8);
    expect(recent.length).toBe(8);
    expect(Math.max(...recent)).toBeLessThan(3000);
  });

  it('ends with a complete recording that covers the content sent until the end', async () => {
    const exits: { runId: number; code: number | null; signal: NodeJS.Signals | null; expected: boolean }[] = [];
    const b = bridge();
    b.on('runexit', (e) => exits.push(e));
    const recordingId = server.liveHls.recordingOf(f.classId)!;
    const lastRun = b.runIds.at(-1)!;
    const sentUntil = (await teacher.evaluate(() => (window as unknown as { __cameraTime: number }).__cameraTime)) as number;
    await teacher.getByRole('button', { name: 'End class' }).click();
    await teacher.getByRole('button', { name: 'Yes, end class' }).click();
    await expect
      .poll(async () => (await server.recordings.byId(recordingId))?.status, { timeout: 90_000, interval: 500 })
      .toMatch(/ready|failed/);
    const rec = (await server.recordings.byId(recordingId))!;
    expect(rec.error).toBeNull();
    expect(rec.status).toBe('ready');
    expect(rec.lessonId).toBe(lessonId);
    // ffmpeg reached the end of its RTP input (RTCP BYE) and exited by itself: its last segment is written.
    expect(exits.at(-1)).toEqual({ runId: lastRun, code: 0, signal: null, expected: true });

    const replay = await f.students[0]!.client.get(`/api/media/recordings/${rec.id}`);
    expect(replay.status).toBe(200);
    const master = `${server.url}${replay.body.recording.playlistUrl}`;
    const variants = parseMasterPlaylist(await (await fetch(master)).text());
    expect(variants).toHaveLength(3);
    const rungBase = master.slice(0, master.indexOf('master.m3u8')) + variants[0]!.uri.split('/')[0] + '/';
    const vod = mediaPlaylist(await (await fetch(master.slice(0, master.indexOf('master.m3u8')) + variants[0]!.uri)).text());
    expect(vod.playlistType).toBe('VOD');
    expect(vod.endlist).toBe(true);
    // Every run that wrote segments, in order, joined by discontinuities.
    const listed = [...new Set(vod.segments.map((s) => Number(s.uri.split('-')[1])))];
    expect(listed).toEqual([...listed].sort((a, b) => a - b));
    for (const id of seenRuns) expect(listed).toContain(id);
    expect(vod.segments.filter((s) => s.discontinuity)).toHaveLength(listed.length - 1);
    expect(rec.durationSeconds).toBe(Math.round(vod.segments.reduce((sum, s) => sum + s.duration, 0)));
    const [lesson] = await server.db.select().from(lessons).where(eq(lessons.id, lessonId));
    expect(lesson!.durationSeconds).toBe(rec.durationSeconds);
    const thumb = await fetch(`${server.url}${replay.body.recording.thumbnailUrl}`);
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
    expect((await thumb.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    expect((await f.outsider.client.get(`/api/media/recordings/${rec.id}`)).status).toBe(403);

    // The last run's segments show the camera's content time advancing with the recording's own time (no
    // hole, no stretch), and the recording reaches the content sent when the teacher pressed End.
    const base = rungBase;
    const last = vod.segments.filter((s) => s.uri.startsWith(`run-${lastRun}-`));
    const readings: { at: number; content: number }[] = [];
    let at = vod.segments.slice(0, vod.segments.indexOf(last[0]!)).reduce((sum, s) => sum + s.duration, 0);
    for (const s of last) {
      const content = await contentTime(await joined(base + s.uri, base + s.map.uri), Math.min(0.5, s.duration / 2));
      if (content !== null) readings.push({ at: at + Math.min(0.5, s.duration / 2), content });
      at += s.duration;
    }
    expect(readings.length).toBeGreaterThanOrEqual(Math.max(2, last.length - 2));
    for (let i = 1; i < readings.length; i++) {
      const media = (readings[i]!.at - readings[0]!.at) * 1000;
      expect(Math.abs(readings[i]!.content - readings[0]!.content - media)).toBeLessThan(1000);
    }
    const lastSegment = last.at(-1)!;
    const lastFile = await joined(base + lastSegment.uri, base + lastSegment.map.uri);
    const end = await contentTime(lastFile, Math.max(0, lastSegment.duration - 0.15));
    expect(end).not.toBeNull();
    expect(end!).toBeGreaterThan(sentUntil - 1500);
    expect(await decodedSeconds(lastFile)).toBeGreaterThan(0);
  });
});
