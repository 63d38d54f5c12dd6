// Rendition sets on files laid out as the bridge and the transcoder write them: the live window and the
// recording in progress (RunRenditions over a RunOutput), a finished set on disk (VodRenditions), and a
// recording switching from one to the other when it is finalised. Every playlist is read back with hls-parser.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import HLS from 'hls-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { ladderFor, LIVE_WINDOW_SEGMENTS } from '../../server/hls/ladder.ts';
import { RecordingRenditions } from '../../server/hls/recording-renditions.ts';
import { RunOutput } from '../../server/hls/run-output.ts';
import { RunRenditions } from '../../server/hls/run-renditions.ts';
import { VodRenditions } from '../../server/hls/vod-renditions.ts';
import type { RecordingStatus } from '../../server/contracts/media.ts';
import { createLogger } from '../../server/log.ts';
import { MediaStorage } from '../../server/storage/media-storage.ts';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-renditions-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const ladder = ladderFor({ width: 640, height: 360 });
/** Finished sets are read through media storage: here the scratch directory alone (no object store). */
const storage = new MediaStorage({ dataDir: scratch, remote: null, log: createLogger('silent') });

/** What the packager leaves for one run in one rung: its EVENT playlist, its init section and `count` one-second segments. */
function writeRun(dir: string, rung: string, runId: number, count: number): void {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:EVENT'];
  lines.push(`#EXT-X-MAP:URI="run-${runId}-init.mp4"`);
  fs.writeFileSync(path.join(dir, rung, `run-${runId}-init.mp4`), `init ${runId}`);
  for (let i = 0; i < count; i++) {
    const name = `run-${runId}-${String(i).padStart(5, '0')}.m4s`;
    lines.push('#EXTINF:1.000000,', name);
    fs.writeFileSync(path.join(dir, rung, name), `segment ${runId}/${i}`);
  }
  fs.writeFileSync(path.join(dir, rung, `run-${runId}.m3u8`), lines.join('\n') + '\n');
}

function media(text: string): HLS.types.MediaPlaylist {
  const parsed = HLS.parse(text);
  if (parsed.isMasterPlaylist) throw new Error('a master playlist');
  return parsed;
}

function master(text: string): HLS.types.MasterPlaylist {
  const parsed = HLS.parse(text);
  if (!parsed.isMasterPlaylist) throw new Error('a media playlist');
  return parsed;
}

async function outputWithRuns(name: string, runs: number[]): Promise<RunOutput> {
  const output = await RunOutput.create(path.join(scratch, name), { classId: 'c', segmentSeconds: 1 });
  await output.fixLadder(ladder);
  for (const [runId, count] of runs.entries()) {
    await output.beginRun(runId);
    for (const r of ladder) writeRun(output.dir, r.name, runId, count);
  }
  return output;
}

describe('RunRenditions', () => {
  it('serves the live window of every run with the token on each URI, and only segments of known rungs', async () => {
    const output = await outputWithRuns('live', [6, 0, 5]);
    const live = new RunRenditions(output, 'live');
    const m = await live.masterPlaylist({ query: 'token=abc' });
    expect(m!.contentType).toBe('application/vnd.apple.mpegurl');
    expect(master(String(m!.body)).variants.map((v) => [v.uri, v.resolution?.height])).toEqual(
      ladder.map((r) => [`${r.name}/index.m3u8?token=abc`, r.height]),
    );
    const top = await live.mediaPlaylist(ladder[0]!.name, { query: 'token=abc' });
    const parsed = media(String(top!.body));
    expect(parsed.segments).toHaveLength(LIVE_WINDOW_SEGMENTS);
    expect(parsed.endlist).toBe(false);
    expect(parsed.playlistType).toBeUndefined();
    // 11 segments in all, the newest 8 listed: numbered from 3, the run that wrote nothing skipped.
    expect(parsed.mediaSequenceBase).toBe(3);
    expect(parsed.segments.map((s) => s.uri.split('?')[0])).toContain('run-2-00000.m4s');
    const firstOfRun2 = parsed.segments.find((s) => s.uri.startsWith('run-2-00000.m4s'))!;
    expect(firstOfRun2.discontinuity).toBe(true);
    // Each run's segments carry that run's init section (EXT-X-MAP), token and all.
    expect(firstOfRun2.map.uri).toBe('run-2-init.mp4?token=abc');
    expect(parsed.segments[0]!.map.uri).toBe('run-0-init.mp4?token=abc');
    expect(parsed.segments.every((s) => s.uri.endsWith('?token=abc'))).toBe(true);
    expect(top!.cacheControl).toBe('private, no-cache');

    const seg = await live.file(ladder[1]!.name, 'run-2-00001.m4s');
    expect(Buffer.from(seg!.body as Uint8Array).toString()).toBe('segment 2/1');
    expect(seg!.contentType).toBe('video/iso.segment');
    expect(seg!.cacheControl).toContain('immutable');
    expect(Buffer.from((await live.file(ladder[1]!.name, 'run-2-init.mp4'))!.body as Uint8Array).toString()).toBe('init 2');
    expect(await live.file('1080p', 'run-2-00001.m4s')).toBeNull();
    expect(await live.file(ladder[1]!.name, 'run-2.m3u8')).toBeNull();
    expect(await live.file(ladder[1]!.name, 'run-9-00000.m4s')).toBeNull();
    // Parts exist only at the live edge of a running packager.
    expect(await live.file(ladder[1]!.name, 'run-2-00001-p0.m4s')).toBeNull();
    expect(await live.mediaPlaylist('1080p', {})).toBeNull();
  });

  it('has no master playlist before the ladder is fixed', async () => {
    const output = await RunOutput.create(path.join(scratch, 'empty'), { classId: 'c', segmentSeconds: 1 });
    expect(await new RunRenditions(output, 'live').masterPlaylist({})).toBeNull();
    expect(await RunOutput.open(path.join(scratch, 'nothing-here'))).toBeNull();
  });
});

describe('VodRenditions and RecordingRenditions', () => {
  it('serves a recording growing as EVENT, then its finalised VOD playlists from disk with the token added', async () => {
    const output = await outputWithRuns('recording', [3, 2]);
    let status: RecordingStatus = 'recording';
    const recording = new RecordingRenditions(storage, path.relative(scratch, output.dir), output.dir, async () => status);
    const growing = media(String((await recording.mediaPlaylist(ladder[2]!.name, { query: 'token=t' }))!.body));
    expect(growing.playlistType).toBe('EVENT');
    expect(growing.segments).toHaveLength(5);

    // The bridge stopped; finalising writes the VOD playlists the finished set serves from then on.
    const done = await output.finalise('ffmpeg');
    expect(done).toMatchObject({ durationSeconds: 5, segments: 5, thumbnail: false });
    status = 'ready';
    const vodText = String((await recording.mediaPlaylist(ladder[2]!.name, { query: 'token=t' }))!.body);
    const vod = media(vodText);
    expect(vod.playlistType).toBe('VOD');
    expect(vod.endlist).toBe(true);
    expect(vod.segments.map((s) => s.uri)).toEqual(
      ['00000', '00001', '00002', '00000', '00001'].map((n, i) => `run-${i < 3 ? 0 : 1}-${n}.m4s?token=t`),
    );
    expect(vod.segments.map((s) => s.map.uri)).toEqual([0, 0, 0, 1, 1].map((r) => `run-${r}-init.mp4?token=t`));
    // A VOD playlist of whole segments: no Low-Latency HLS tags.
    expect(vodText).not.toMatch(/EXT-X-PART|PRELOAD-HINT|SERVER-CONTROL/);
    expect(vod.segments.filter((s) => s.discontinuity)).toHaveLength(1);
    // What is on disk has no token: it is added per viewer.
    expect(fs.readFileSync(path.join(output.dir, ladder[2]!.name, 'index.m3u8'), 'utf8')).not.toContain('token');
    const m = master(String((await recording.masterPlaylist({ query: 'token=t' }))!.body));
    expect(m.variants.map((v) => v.uri)).toEqual(ladder.map((r) => `${r.name}/index.m3u8?token=t`));
    expect((await recording.masterPlaylist({}))!.cacheControl).toBe('private, max-age=300');

    status = 'failed';
    expect(await recording.masterPlaylist({})).toBeNull();
    expect(await recording.file(null, 'manifest.json')).toBeNull();
    expect(await recording.file(ladder[0]!.name, '../manifest.json')).toBeNull();
  });

  it('serves a transcoded lesson (ffmpeg’s own VOD playlists) with the token on every URI', async () => {
    const dir = path.join(scratch, 'lesson');
    fs.mkdirSync(path.join(dir, '360p'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'master.m3u8'),
      '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2"\n360p/index.m3u8\n',
    );
    fs.writeFileSync(
      path.join(dir, '360p', 'index.m3u8'),
      [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-TARGETDURATION:2',
        '#EXT-X-PLAYLIST-TYPE:VOD',
        '#EXTINF:2.000000,',
        'seg-00000.ts',
        '#EXTINF:1.500000,',
        'seg-00001.ts',
        '#EXT-X-ENDLIST',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(dir, '360p', 'seg-00001.ts'), 'last');
    const lesson = new VodRenditions(storage, 'lesson', { playlistCache: 'private, max-age=5', segmentCache: 'private, max-age=600' });
    expect(master(String((await lesson.masterPlaylist({ query: 'token=x%2By' }))!.body)).variants[0]!.uri).toBe(
      '360p/index.m3u8?token=x%2By',
    );
    const vod = media(String((await lesson.mediaPlaylist('360p', { query: 'token=x' }))!.body));
    expect(vod.segments.map((s) => [s.uri, s.duration])).toEqual([
      ['seg-00000.ts?token=x', 2],
      ['seg-00001.ts?token=x', 1.5],
    ]);
    expect((await lesson.file('360p', 'seg-00001.ts'))!.cacheControl).toBe('private, max-age=600');
    // A range of a segment: only those bytes are read, with the size of the whole file.
    const part = (await lesson.file('360p', 'seg-00001.ts', { start: 1, end: 2 }))!;
    expect(part).toMatchObject({ size: 4, range: { start: 1, end: 2 } });
    expect(await new Response(part.body as ReadableStream<Uint8Array>).text()).toBe('as');
    expect((await lesson.file('360p', 'seg-00001.ts', { suffix: 3 }))!.range).toEqual({ start: 1, end: 3 });
    await expect(lesson.file('360p', 'seg-00001.ts', { start: 4 })).rejects.toThrow(/past the end/);
    expect(await lesson.file('360p', 'seg-00009.ts')).toBeNull();
    expect(await lesson.mediaPlaylist('720p', {})).toBeNull();
    expect(await lesson.file(null, 'master.m3u8')).toBeNull();
  });
});
