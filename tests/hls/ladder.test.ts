// The ladder and its ffmpeg arguments: pure functions checked directly, and the VOD builder run through the
// real ffmpeg on a short generated clip, with ffprobe checking what the master playlist promises.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildLiveArgs,
  buildThumbnailArgs,
  buildVodTranscodeArgs,
  h264CodecString,
  ladderFor,
  peakBandwidth,
} from '../../server/hls/ladder.ts';
import { renderMasterPlaylist } from '../../server/hls/playlist.ts';
import { FfmpegProgressParser } from '../../server/hls/progress.ts';
import { parseMasterPlaylist, probeSegment, expectedProfile } from './hls-probe.ts';

const run = promisify(execFile);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-ladder-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('ladderFor', () => {
  it('gives 720p, 480p and 360p for a 720p or larger 16:9 source', () => {
    for (const source of [
      { width: 1280, height: 720 },
      { width: 1920, height: 1080 },
    ]) {
      expect(ladderFor(source).map((r) => `${r.name} ${r.width}x${r.height}`)).toEqual(['720p 1280x720', '480p 854x480', '360p 640x360']);
    }
  });

  it('follows a smaller source with the top rung and keeps three rungs below it, in its aspect ratio', () => {
    const ladder = ladderFor({ width: 640, height: 480 });
    expect(ladder.map((r) => [r.width, r.height])).toEqual([
      [640, 480],
      [480, 360],
      [320, 240],
    ]);
    const odd = ladderFor({ width: 1000, height: 562 });
    expect(odd[0]!.height).toBe(562);
    expect(odd[0]!.videoBitrate).toBeLessThan(2_500_000);
    expect(odd[0]!.videoBitrate).toBeGreaterThan(1_000_000);
    for (const r of odd) expect((r.width % 2) + (r.height % 2)).toBe(0);
  });

  it('orders bit rates best first and encodes the H.264 level in the codecs string', () => {
    const ladder = ladderFor();
    expect(ladder[0]!.videoCodec).toBe('avc1.4d401f'); // Main, level 3.1
    expect(ladder[1]!.videoCodec).toBe('avc1.4d401e'); // Main, level 3.0
    expect(h264CodecString('baseline', '3.0')).toBe('avc1.42e01e');
    for (let i = 1; i < ladder.length; i++) expect(peakBandwidth(ladder[i]!)).toBeLessThan(peakBandwidth(ladder[i - 1]!));
  });
});

describe('renderMasterPlaylist', () => {
  it('lists every rung with BANDWIDTH, RESOLUTION and CODECS', () => {
    const text = renderMasterPlaylist(ladderFor(), (r) => `${r.name}/index.m3u8?token=t`);
    const variants = parseMasterPlaylist(text);
    expect(variants.map((v) => v.resolution)).toEqual(['1280x720', '854x480', '640x360']);
    expect(variants[0]!.codecs).toBe('avc1.4d401f,mp4a.40.2');
    expect(variants[0]!.uri).toBe('720p/index.m3u8?token=t');
    expect(variants.every((v) => v.bandwidth > 100_000)).toBe(true);
  });
});

describe('buildLiveArgs', () => {
  const ladder = ladderFor();
  const epochMs = 1_764_400_000_250;
  it('decodes once and splits into one encoder per rung, key frames forced on segment boundaries', () => {
    const args = buildLiveArgs({ sdpPaths: ['/x/run-0.sdp', '/x/run-1.sdp'], streams: { camera: 0, mic: 1 }, ladder, epochMs });
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    expect(graph).toContain('split=3');
    // Every input on the wall clock, less the run's epoch.
    expect(graph).toContain('[0:0]setpts=PTS-1764400000.250/TB,scale=1280:720');
    expect(graph).toContain('[1:0]asetpts=PTS-1764400000.250/TB,aresample');
    expect(args).toContain('-copyts');
    expect(args[args.indexOf('-force_key_frames') + 1]).toBe('expr:gte(t,n_forced*1)');
    expect(args).toContain('zerolatency');
    // One fragmented MP4 output per rung, each on its own pipe (rung i on fd 3 + i), fragments of 200 ms.
    expect(args.filter((a) => a.startsWith('pipe:') && a !== 'pipe:1')).toEqual(['pipe:3', 'pipe:4', 'pipe:5']);
    expect(args.filter((a) => a === '-frag_duration').length).toBe(3);
    expect(args[args.indexOf('-movflags') + 1]).toBe('+frag_keyframe+empty_moov+default_base_moof');
    const outputs = args
      .slice(args.indexOf('-filter_complex') + 2)
      .join(' ')
      .split(/pipe:[345]/);
    ladder.forEach((r, i) => {
      expect(outputs[i]).toContain(`-map [v${i}] -map [a${i}]`);
      expect(outputs[i]).toContain(`-b:v ${r.videoBitrate}`);
    });
    // One input per RTP stream (each read by its own thread), stamped with the time it was read.
    expect(args.filter((a, i) => args[i - 1] === '-i')).toEqual(['/x/run-0.sdp', '/x/run-1.sdp']);
    expect(args.filter((a) => a === '-use_wallclock_as_timestamps').length).toBe(2);
    expect(args.filter((a) => a === '-thread_queue_size').length).toBe(2);
    // The video decoder hands on each frame at once; audio has no such option.
    expect(args.filter((a) => a === 'low_delay').length).toBe(1);
  });

  it('composites the screen with the camera as an overlay when both are there', () => {
    const args = buildLiveArgs({ sdpPaths: ['c', 's', 'm'], streams: { camera: 0, screen: 1, mic: 2 }, ladder, epochMs });
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    expect(graph).toMatch(/\[1:0\]setpts=[^,]+,scale=1280:720.*\[screen\]/);
    expect(graph).toMatch(/\[0:0\]setpts=[^,]+,scale=-2:180.*\[pip\]/);
    expect(graph).toContain('[screen][pip]overlay=');
  });

  it('mixes the voices of students on stage into the class audio', () => {
    const args = buildLiveArgs({ sdpPaths: ['c', 'm', 's1', 's2'], streams: { camera: 0, mic: 1, stageAudio: [2, 3] }, ladder, epochMs });
    const graph = args[args.indexOf('-filter_complex') + 1]!;
    for (const i of [1, 2, 3]) expect(graph).toContain(`[${i}:0]asetpts=PTS-1764400000.250/TB[m${i - 1}]`);
    expect(graph).toContain('[m0][m1][m2]amix=inputs=3:');
    expect(args.join(' ')).not.toContain('anullsrc');
    // A stage voice alone (the teacher muted) is the class audio as it is.
    const alone = buildLiveArgs({ sdpPaths: ['c', 's1'], streams: { camera: 0, stageAudio: [1] }, ladder, epochMs });
    const aloneGraph = alone[alone.indexOf('-filter_complex') + 1]!;
    expect(aloneGraph).toContain('[1:0]asetpts=PTS-1764400000.250/TB,aresample');
    expect(aloneGraph).not.toContain('amix');
  });

  it('fills a missing microphone with silence so every rung still carries audio', () => {
    const args = buildLiveArgs({ sdpPaths: ['c'], streams: { camera: 0 }, ladder, epochMs });
    expect(args.join(' ')).toContain('anullsrc');
    expect(() => buildLiveArgs({ sdpPaths: [], streams: {}, ladder, epochMs })).toThrow(/at least one/);
  });
});

describe('buildVodTranscodeArgs through ffmpeg', () => {
  it('transcodes a file into the ladder with progress on stdout, matching its master playlist', async () => {
    const input = path.join(scratch, 'in.mp4');
    await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=640x360:rate=30:duration=3',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=300:duration=3',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-c:a',
      'aac',
      '-shortest',
      input,
    ]);
    const outDir = path.join(scratch, 'vod');
    const args = buildVodTranscodeArgs({ input, outDir, hasAudio: true, sourceWidth: 640, sourceHeight: 360 });
    const { stdout } = await run('ffmpeg', args, { maxBuffer: 10 * 1024 * 1024 });
    const blocks = new FfmpegProgressParser().push(stdout);
    expect(blocks.at(-1)!.done).toBe(true);
    expect(blocks.at(-1)!.outTimeSeconds).toBeGreaterThan(2.5);
    const ladder = ladderFor({ width: 640, height: 360 });
    expect(fs.existsSync(path.join(outDir, 'master.m3u8'))).toBe(true);
    for (const rung of ladder) {
      const playlist = fs.readFileSync(path.join(outDir, rung.name, 'index.m3u8'), 'utf8');
      expect(playlist).toContain('#EXT-X-ENDLIST');
      const probe = await probeSegment(path.join(outDir, rung.name, 'seg-00000.ts'));
      expect(`${probe.width}x${probe.height}`).toBe(`${rung.width}x${rung.height}`);
      expect(probe.videoProfile).toBe(expectedProfile(rung.videoCodec));
      expect(probe.audioCodec).toBe('aac');
    }
    const thumb = path.join(scratch, 'thumb.jpg');
    await run('ffmpeg', buildThumbnailArgs(path.join(outDir, ladder[0]!.name, 'index.m3u8'), thumb, 1));
    expect(fs.statSync(thumb).size).toBeGreaterThan(1000);
  });
});
