// The HLS picture follows the class: the teacher's camera alone, then the shared screen with the camera as
// a small overlay, the screen alone while the camera is paused (a paused producer must not freeze the
// picture), the camera again when sharing stops, and a student on stage heard in the mix. Real media all
// the way: ffmpeg test patterns as the teacher's camera (testsrc2) and screen (SMPTE bars) in a real
// mediasoup Router, the bridge's ffmpeg, the signed live playlist, and colours read back out of segments.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { courses, enrollments, lessons, liveClasses } from '../../server/db/schema.ts';
import type { HlsBridge } from '../../server/hls/hls-bridge.ts';
import type { Rendition } from '../../server/hls/ladder.ts';
import { parseMediaPlaylist } from '../../server/hls/playlist.ts';
import { registerUser } from '../helpers/http-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { colorDistance, patternColor, regionColor, type Region } from './frame-probe.ts';
import { decodedSeconds, probeSegment } from './hls-probe.ts';
import { RtpFeed, TestRoom, TEST_MEDIA_CODECS } from './rtp-feeder.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Where the picture shows what: the main area's top-left bar, and the inside of the bottom-right overlay. */
const regions = (r: Rendition): { main: Region; overlay: Region } => ({
  main: { x: Math.round(r.width * 0.02), y: Math.round(r.height * 0.05), w: Math.round(r.width * 0.1), h: Math.round(r.height * 0.5) },
  overlay: { x: Math.round(r.width * 0.78), y: Math.round(r.height * 0.77), w: Math.round(r.width * 0.16), h: Math.round(r.height * 0.16) },
});

let server: TestServer;
let teacher: Awaited<ReturnType<typeof registerUser>>;
let student: Awaited<ReturnType<typeof registerUser>>;
let classId: string;
let room: TestRoom;
let bridge: HlsBridge;
let recordingId: string;
let camera: RtpFeed;
let screen: RtpFeed | undefined;
let stage: RtpFeed | undefined;
let token: string;

/** The live playlist of a rung, as a viewer gets it. */
async function livePlaylist(rung: string): Promise<string> {
  const res = await fetch(`${server.url}/media/classes/${classId}/live/${rung}/index.m3u8?token=${encodeURIComponent(token)}`);
  if (res.status !== 200) throw new Error(`playlist ${res.status}`);
  return res.text();
}

/** Waits for a run after `afterRunId` to have written `segments` segments in the top rung; returns its id. */
async function nextRun(afterRunId: number, segments = 3): Promise<number> {
  const found = await until(`a run after ${afterRunId} with ${segments} segments`, async () => {
    const runId = bridge.runIds.at(-1);
    if (runId === undefined || runId <= afterRunId || !bridge.ladder) return null;
    const text = await livePlaylist(bridge.ladder[0]!.name);
    return text.includes(`run-${runId}-${String(segments - 1).padStart(5, '0')}.ts`) ? { runId } : null;
  });
  return found.runId;
}

/** A segment of `runId` in a rung, as a file on disk (the live route serves exactly these files). */
function segmentFile(rung: string, runId: number, index: number): string {
  return path.join(server.dataDir, 'recordings', recordingId, rung, `run-${runId}-${String(index).padStart(5, '0')}.ts`);
}

function ffmpegCommandLine(): string {
  return fs.readFileSync(`/proc/${bridge.ffmpegPid}/cmdline`, 'utf8').split('\0').join(' ');
}

beforeAll(async () => {
  server = await startTestServer({ db: 'pglite' });
  teacher = await registerUser(server.url, 'teacher', 'Screen Teacher');
  student = await registerUser(server.url, 'student', 'Stage Student');
  const db = server.db;
  const [course] = await db.insert(courses).values({ teacherId: teacher.user.id, title: 'Screen course', published: true }).returning();
  await db.insert(enrollments).values({ userId: student.user.id, courseId: course!.id });
  const [lesson] = await db.insert(lessons).values({ courseId: course!.id, position: 1, title: 'Sharing a screen' }).returning();
  const [row] = await db
    .insert(liveClasses)
    .values({
      courseId: course!.id,
      lessonId: lesson!.id,
      teacherId: teacher.user.id,
      title: 'Screen class',
      scheduledAt: new Date(),
      status: 'live',
      startedAt: new Date(),
    })
    .returning();
  classId = row!.id;
  token = server.hls.sign({ kind: 'class', id: classId }, student.user.id).token;

  const { router } = await server.workers.createRouter({ mediaCodecs: TEST_MEDIA_CODECS });
  room = new TestRoom(classId, router);
  // A 360p camera keeps the ladder (360p/240p/180p) light enough for a shared 2-core box.
  camera = await RtpFeed.start(router, { width: 640, height: 360, fps: 25, pattern: 'testsrc2' });
  room.addFeed(camera, teacher.user.id);
  bridge = (await server.hls.attach(room))!;
  recordingId = server.hls.live(classId)!.recordingId;
});

afterAll(async () => {
  room?.close();
  await Promise.all([camera?.stop(), screen?.stop(), stage?.stop()]);
  await server?.stop();
});

describe('screen share through the HLS bridge', () => {
  let runId = -1;

  it('shows the camera alone before anyone shares', async () => {
    runId = await nextRun(runId);
    const top = bridge.ladder![0]!;
    // 640x360 when the first frames were sized in time, the default 720p ladder when the box was too busy.
    expect(bridge.ladder!.length).toBe(3);
    const bars = await patternColor('smptebars', top.width, top.height, regions(top).main);
    const seen = await regionColor(segmentFile(top.name, runId, 2), regions(top).main);
    // testsrc2 is not the SMPTE bars: the screen is not on the picture yet.
    expect(colorDistance(seen, bars)).toBeGreaterThan(60);
  });

  it('switches to the screen with the camera as an overlay, after a discontinuity, in every rung', async () => {
    screen = await RtpFeed.start(room.router, { width: 960, height: 540, fps: 15, pattern: 'smptebars', audio: false });
    room.add('screen', screen.video, teacher.user.id);
    const before = runId;
    runId = await nextRun(runId);
    const ladder = bridge.ladder!;
    const text = await livePlaylist(ladder[0]!.name);
    // The old run's last segments and the new run's first ones, joined by a discontinuity.
    expect(text).toContain(`run-${before}-`);
    expect(text).toMatch(new RegExp(`#EXT-X-DISCONTINUITY\\n#EXTINF:[0-9.]+,\\nrun-${runId}-00000\\.ts\\?token=`));
    expect(parseMediaPlaylist(text).segments.length).toBeGreaterThanOrEqual(4);
    // Same ladder as before the switch: every rung keeps its advertised size.
    for (const rung of ladder) {
      const probe = await probeSegment(segmentFile(rung.name, runId, 2));
      expect(`${probe.width}x${probe.height}`).toBe(`${rung.width}x${rung.height}`);
      expect(probe.audioCodec).toBe('aac');
    }
    const top = ladder[0]!;
    const { main, overlay } = regions(top);
    const file = segmentFile(top.name, runId, 2);
    // The screen fills the picture: its top-left bar is where the SMPTE bars have it...
    expect(colorDistance(await regionColor(file, main), await patternColor('smptebars', top.width, top.height, main))).toBeLessThan(45);
    // ...except the bottom-right corner, where the camera sits over the bars' dark bottom row.
    expect(
      colorDistance(await regionColor(file, overlay), await patternColor('smptebars', top.width, top.height, overlay)),
    ).toBeGreaterThan(60);
    // What the rest of the class sees in the SFU path, the picture-in-picture is in one ffmpeg graph.
    expect(ffmpegCommandLine()).toContain('[screen][pip]overlay=');
  });

  it('drops the overlay while the camera is paused, and the picture keeps flowing', async () => {
    await camera.video.pause();
    runId = await nextRun(runId, 4);
    const top = bridge.ladder![0]!;
    const { main, overlay } = regions(top);
    const file = segmentFile(top.name, runId, 3);
    expect(colorDistance(await regionColor(file, overlay), await patternColor('smptebars', top.width, top.height, overlay))).toBeLessThan(
      45,
    );
    expect(colorDistance(await regionColor(file, main), await patternColor('smptebars', top.width, top.height, main))).toBeLessThan(45);
    expect(await decodedSeconds(file)).toBeGreaterThan(0.5);
    expect(ffmpegCommandLine()).not.toContain('overlay=');
    // Still one picture and one voice: the teacher's mic stays in.
    expect(ffmpegCommandLine()).toContain('aresample');
  });

  it('goes back to the camera alone when sharing stops', async () => {
    await camera.video.resume();
    screen!.video.close();
    runId = await nextRun(runId);
    const top = bridge.ladder![0]!;
    const { main } = regions(top);
    const file = segmentFile(top.name, runId, 2);
    expect(colorDistance(await regionColor(file, main), await patternColor('smptebars', top.width, top.height, main))).toBeGreaterThan(60);
    const probe = await probeSegment(file);
    expect(`${probe.width}x${probe.height}`).toBe(`${top.width}x${top.height}`);
  });

  it('mixes the voice of a student on stage into the stream, and not their camera', async () => {
    stage = await RtpFeed.start(room.router, { width: 320, height: 180, fps: 10, toneHz: 880 });
    room.add('camera', stage.video, student.user.id);
    room.add('mic', stage.audio!, student.user.id);
    runId = await nextRun(runId);
    const line = ffmpegCommandLine();
    expect(line).toContain('amix=inputs=2');
    // Camera, mic and the stage mic: the student's camera is not one of the run's inputs.
    const sdp = fs.readFileSync(path.join(server.dataDir, 'recordings', recordingId, `run-${runId}.sdp`), 'utf8');
    expect(sdp.match(/^m=audio/gm)?.length).toBe(2);
    expect(sdp.match(/^m=video/gm)?.length).toBe(1);
    const probe = await probeSegment(segmentFile(bridge.ladder![0]!.name, runId, 2));
    expect(probe.audioCodec).toBe('aac');
  });

  it('ends with a complete recording: every run, discontinuities between them, the last segment playable', async () => {
    const exits: { code: number | null; signal: NodeJS.Signals | null }[] = [];
    bridge.on('runexit', (e) => exits.push(e));
    room.close();
    const rec = await until(
      'the recording',
      async () => {
        const r = await server.hls.recording(recordingId);
        return r && (r.status === 'ready' || r.status === 'failed') ? r : null;
      },
      60_000,
    );
    expect(rec.error).toBeNull();
    expect(rec.status).toBe('ready');
    expect(exits.at(-1)).toEqual(expect.objectContaining({ code: 0, signal: null }));
    const top = bridge.ladder![0]!;
    const vod = fs.readFileSync(path.join(server.dataDir, 'recordings', recordingId, top.name, 'index.m3u8'), 'utf8');
    expect(vod.match(/#EXT-X-DISCONTINUITY/g)?.length).toBe(bridge.runIds.length - 1);
    for (const id of bridge.runIds) expect(vod).toContain(`run-${id}-00000.ts`);
    const last = parseMediaPlaylist(vod).segments.at(-1)!;
    expect(await decodedSeconds(path.join(server.dataDir, 'recordings', recordingId, top.name, last.uri))).toBeGreaterThan(0);
  });
});
