// Low-Latency HLS from the packager's side: ffmpeg writes a rung as fragmented MP4 with the live ladder's
// options (real x264/AAC, a fragment every 200 ms and at each key frame); the bytes are fed to a RunPackager
// a fragment at a time, as ffmpeg's pipe delivers them; what the live rendition set serves is read back with
// hls-parser and ffprobe. Blocking reloads are answered when the part they ask for arrives, refused when it
// does not come in time or lies too far ahead.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import HLS from 'hls-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ladderFor, PART_FRAGMENT_SECONDS, PART_TARGET_SECONDS } from '../../server/hls/ladder.ts';
import { createLogger } from '../../server/log.ts';
import { PlaylistRefused } from '../../server/hls/rendition-set.ts';
import { RunOutput } from '../../server/hls/run-output.ts';
import { describeFragment, parseInit } from '../../server/hls/mp4-fragments.ts';
import { RunPackager } from '../../server/hls/run-packager.ts';
import { RunRenditions } from '../../server/hls/run-renditions.ts';
import { probeSegment } from './hls-probe.ts';

const run = promisify(execFile);
// Every playlist written or read here must be valid, LL-HLS rules included: hls-parser throws otherwise.
HLS.setOptions({ strictMode: true });
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-llhls-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const ladder = ladderFor({ width: 640, height: 360 });
const log = createLogger('silent');

/** Top-level boxes of an MP4 file: [type, start, end]. */
function boxes(data: Buffer): [string, number, number][] {
  const out: [string, number, number][] = [];
  for (let at = 0; at + 8 <= data.length;) {
    const size = data.readUInt32BE(at);
    out.push([data.toString('latin1', at + 4, at + 8), at, at + size]);
    at += size;
  }
  return out;
}

/** What ffmpeg writes for one rung: the init section and the fragments' bytes, in order. */
let init: Buffer;
let fragments: Buffer[];

/** One rung as the live ladder writes it: `videoSeconds` of picture, `audioSeconds` of a tone. */
async function rungFragments(name: string, videoSeconds: number, audioSeconds: number): Promise<{ init: Buffer; fragments: Buffer[] }> {
  const file = path.join(scratch, `${name}.mp4`);
  const r = ladder[2]!;
  await run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=s=${r.width}x${r.height}:r=30:d=${videoSeconds}`],
    ...['-f', 'lavfi', '-i', `sine=f=440:sample_rate=48000:d=${audioSeconds}`, '-map', '0:v', '-map', '1:a'],
    ...['-c:v', 'libx264', '-preset', 'superfast', '-tune', 'zerolatency', '-g', '30', '-keyint_min', '30', '-sc_threshold', '0'],
    ...['-force_key_frames', 'expr:gte(t,n_forced*1)', '-pix_fmt', 'yuv420p', '-profile:v', 'main', '-c:a', 'aac', '-ar', '48000'],
    ...[
      '-f',
      'mp4',
      '-movflags',
      '+frag_keyframe+empty_moov+default_base_moof',
      '-frag_duration',
      String(PART_FRAGMENT_SECONDS * 1e6),
      file,
    ],
  ]);
  const data = fs.readFileSync(file);
  const all = boxes(data);
  const moov = all.find(([t]) => t === 'moov')!;
  const out: Buffer[] = [];
  for (const [i, [type, start]] of all.entries()) if (type === 'moof') out.push(data.subarray(start, all[i + 1]![2]));
  return { init: data.subarray(0, moov[2]), fragments: out };
}

beforeAll(async () => {
  ({ init, fragments } = await rungFragments('rung', 4.2, 4.2));
});

async function liveOutput(name: string): Promise<{ output: RunOutput; packager: RunPackager; pipes: PassThrough[] }> {
  const output = await RunOutput.create(path.join(scratch, name), { classId: 'c', segmentSeconds: 1 });
  await output.fixLadder(ladder);
  await output.beginRun(0);
  const packager = new RunPackager({
    runId: 0,
    outDir: output.dir,
    rungs: ladder.map((r) => r.name),
    previousSegments: ladder.map(() => 0),
    segmentSeconds: 1,
    log,
  });
  const pipes = ladder.map(() => new PassThrough());
  packager.consume(pipes);
  return { output, packager, pipes };
}

/** Feeds a fragment to every rung, in two uneven chunks (a pipe splits writes anywhere). */
async function feed(pipes: PassThrough[], packager: RunPackager, bytes: Buffer): Promise<void> {
  const changed = Promise.all([...packager.rungs.values()].map((r) => new Promise<void>((resolve) => r.once('change', () => resolve()))));
  for (const pipe of pipes) {
    pipe.write(bytes.subarray(0, 7));
    pipe.write(bytes.subarray(7));
  }
  await changed;
}

function media(text: string): HLS.types.MediaPlaylist {
  const parsed = HLS.parse(text);
  if (parsed.isMasterPlaylist) throw new Error('a master playlist');
  return parsed;
}

describe('RunPackager', () => {
  it('cuts parts and one-second segments at key frames, writes them with their init section, and a run playlist', async () => {
    const { output, packager, pipes } = await liveOutput('cut');
    for (const pipe of pipes) pipe.write(init);
    for (const f of fragments) await feed(pipes, packager, f);
    for (const pipe of pipes) pipe.end();
    await packager.finished();
    const rung = packager.rung(ladder[0]!.name)!;
    // 4.2 s at a key frame a second: four full segments and a short last one.
    expect(rung.segments.map((s) => Math.round(s.duration * 10) / 10)).toEqual([1, 1, 1, 1, 0.2]);
    for (const s of rung.segments.slice(-3)) {
      expect(s.parts.length).toBeGreaterThan(0);
      // A segment starts on its key frame: its first part is independent, the others are not.
      expect(s.parts.map((p) => p.independent)).toEqual(s.parts.map((_, i) => i === 0));
      for (const p of s.parts) expect(p.duration).toBeLessThanOrEqual(PART_TARGET_SECONDS);
    }
    expect(rung.segments[3]!.parts).toHaveLength(5);
    // Only the newest segments keep their parts in memory.
    expect(rung.segments[0]!.parts).toEqual([]);

    const onDisk = await output.segments(ladder[0]!.name);
    expect(onDisk.map((s) => [s.uri, s.map])).toEqual(rung.segments.map((s) => [s.uri, 'run-0-init.mp4']));
    const segmentFile = path.join(output.dir, ladder[0]!.name, 'run-0-00002.m4s');
    const joined = path.join(scratch, 'joined.mp4');
    fs.writeFileSync(
      joined,
      Buffer.concat([fs.readFileSync(path.join(output.dir, ladder[0]!.name, 'run-0-init.mp4')), fs.readFileSync(segmentFile)]),
    );
    const probe = await probeSegment(joined);
    expect(`${probe.videoCodec} ${probe.width}x${probe.height} ${probe.audioCodec}`).toBe('h264 320x180 aac');
  });

  it('ends a run on its last picture: audio the muxer flushes after the video is neither independent nor a segment', async () => {
    // The video ends 0.8 s before the audio (as when ffmpeg's video input ends first at the end of a class).
    const tail = await rungFragments('tail', 2, 2.8);
    const tracks = parseInit(tail.init);
    const described = tail.fragments.map((f) => describeFragment(f, tracks));
    const audioOnly = described.filter((d) => !d.hasVideo);
    expect(audioOnly.length).toBeGreaterThan(0);
    expect(audioOnly.every((d) => !d.independent)).toBe(true);
    // The video fragments keep their key-frame flags: one a second.
    expect(described.filter((d) => d.independent).map((d) => Math.round(d.startSeconds))).toEqual([0, 1]);

    const { packager, pipes } = await liveOutput('tail');
    for (const pipe of pipes) pipe.write(tail.init);
    for (const f of tail.fragments) await feed(pipes, packager, f);
    for (const pipe of pipes) pipe.end();
    await packager.finished();
    const rung = packager.rung(ladder[0]!.name)!;
    expect(rung.segments.map((s) => Math.round(s.duration * 10) / 10)).toEqual([1, 1]);
    expect(rung.segments.flatMap((s) => s.parts).every((p) => p.hasVideo)).toBe(true);
  });
});

describe('RunRenditions (live, Low-Latency HLS)', () => {
  let setup: Awaited<ReturnType<typeof liveOutput>>;
  let live: RunRenditions;
  const top = () => ladder[0]!.name;
  const playlist = async (request: { msn?: number; part?: number } = {}) =>
    media(String((await live.mediaPlaylist(top(), { query: 'token=t', ...request }))!.body));

  beforeAll(async () => {
    setup = await liveOutput('live');
    live = new RunRenditions(setup.output, 'live', () => setup.packager);
    for (const pipe of setup.pipes) pipe.write(init);
    // Two segments and a bit: the third is being written.
    for (const f of fragments.slice(0, 12)) await feed(setup.pipes, setup.packager, f);
  });

  it('lists parts, the preload hint, server control and the other rungs, and full segments for other players', async () => {
    const response = await live.mediaPlaylist(top(), { query: 'token=t' });
    const text = String(response!.body);
    const p = media(text);
    expect(p.partTargetDuration).toBe(PART_TARGET_SECONDS);
    expect(p.lowLatencyCompatibility).toMatchObject({ canBlockReload: true, partHoldBack: expect.any(Number) });
    expect(p.lowLatencyCompatibility!.partHoldBack).toBeGreaterThanOrEqual(2 * PART_TARGET_SECONDS);
    const finished = p.segments.filter((s) => s.uri);
    expect(finished.map((s) => s.uri)).toEqual(['run-0-00000.m4s?token=t', 'run-0-00001.m4s?token=t']);
    expect(finished.every((s) => s.map.uri === 'run-0-init.mp4?token=t' && s.duration > 0.9)).toBe(true);
    expect(finished[1]!.parts.length).toBe(5);
    const current = p.segments.at(-1)!;
    expect(current.uri).toBeFalsy();
    expect(current.mediaSequenceNumber).toBe(2);
    const done = current.parts.filter((x) => !x.hint);
    expect(done[0]).toMatchObject({ uri: 'run-0-00002-p0.m4s?token=t', independent: true });
    expect(current.parts.at(-1)).toMatchObject({ hint: true, uri: `run-0-00002-p${done.length}.m4s?token=t` });
    expect(text).toContain('#EXT-X-PRELOAD-HINT:TYPE=PART');
    expect(p.renditionReports.map((r) => [r.uri, r.lastMSN, r.lastPart])).toEqual(
      ladder.slice(1).map((r) => [`../${r.name}/index.m3u8?token=t`, 2, done.length - 1]),
    );
    expect(response!.cacheControl).toBe('private, no-cache');

    const part = await live.file(top(), 'run-0-00002-p0.m4s');
    expect(part!.cacheControl).toContain('immutable');
    expect(Buffer.from(part!.body as Uint8Array).equals(fragments[10]!)).toBe(true);
    expect(await live.file(top(), 'run-0-00000-p0.m4s')).not.toBeNull(); // kept: among the newest segments
    expect(await live.file(top(), 'run-0-00002-p9.m4s')).toBeNull();
  });

  it('answers a blocking reload once the part it asks for exists', async () => {
    const before = setup.packager.rung(top())!.position!;
    const next = { msn: 2, part: before.part + 1 };
    let answered = false;
    const pending = live.mediaPlaylist(top(), { query: 'token=t', ...next }).then((r) => ((answered = true), r));
    // Not answered while the part is missing (the other rungs' reports are no reason to answer either).
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    await feed(setup.pipes, setup.packager, fragments[12]!);
    const response = await pending;
    expect(response!.cacheControl).toBe('private, max-age=6');
    const parts = media(String(response!.body))
      .segments.at(-1)!
      .parts.filter((x) => !x.hint);
    expect(parts.at(-1)!.uri).toBe(`run-0-00002-p${next.part}.m4s?token=t`);
    // Asking for what is already there answers at once.
    expect((await playlist({ msn: 1 })).segments.some((s) => s.uri === 'run-0-00001.m4s?token=t')).toBe(true);
  });

  it('refuses a part that does not come in time (503) and one too far ahead (400)', async () => {
    const at = setup.packager.rung(top())!.position!;
    const refusal = await live.mediaPlaylist(top(), { msn: at.segment, part: at.part + 1 }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(PlaylistRefused);
    expect((refusal as PlaylistRefused).status).toBe(503);
    const ahead = await live.mediaPlaylist(top(), { msn: at.segment + 3 }).catch((e: unknown) => e);
    expect((ahead as PlaylistRefused).status).toBe(400);
    // The part that did not come is answered once it does.
    await feed(setup.pipes, setup.packager, fragments[13]!);
    expect((await playlist({ msn: at.segment, part: at.part + 1 })).segments.length).toBeGreaterThan(0);
  });

  it('answers a request for the hinted part when it arrives', async () => {
    const rung = setup.packager.rung(top())!;
    const hinted = rung.nextPartName();
    const pending = live.file(top(), hinted);
    await feed(setup.pipes, setup.packager, fragments[14]!);
    const part = await pending;
    expect(Buffer.from(part!.body as Uint8Array).equals(fragments[14]!)).toBe(true);
  });
});
