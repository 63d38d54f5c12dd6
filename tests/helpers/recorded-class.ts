// A finished recording of a class made the way the bridge makes one, without a studio: the recording's row and
// output through Recordings.begin, one ffmpeg run per rung writing a known picture and tone (H.264 + AAC) into
// the run layout the bridge uses (ladder.ts names: fragmented MP4 segments and their init section), and
// Recordings.finalise, which turns it into the replay (recordClass and recordRuns return once its MP4 download
// is made too).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ladderFor, runInitName, runPlaylistName, runSegmentName } from '../../server/hls/ladder.ts';
import type { Recording } from '../../server/db/schema.ts';
import type { RunOutput } from '../../server/hls/run-output.ts';
import type { TestServer } from './server.ts';

const run = promisify(execFile);

/** One run of a recorded class: this long, and when its media began (the bridge's default: when it is recorded). */
export interface RecordedRun {
  seconds: number;
  startedAt?: Date;
}

/** Records `seconds` of test pattern for the class (one run, a 360p ladder) and finalises it; returns the row. */
export async function recordClass(server: TestServer, classId: string, seconds = 3): Promise<Recording> {
  return recordRuns(server, classId, [{ seconds }]);
}

/**
 * Records the class in several runs, as a bridge does across restarts (each run its own ffmpeg output, started
 * at `startedAt` on the class's clock), and finalises the recording; returns the row.
 */
export async function recordRuns(server: TestServer, classId: string, runs: readonly RecordedRun[]): Promise<Recording> {
  const { recordingId, output } = await server.recordings.begin(classId);
  await recordInto(server.config.ffmpegPath, output, runs);
  const row = await server.recordings.finalise(recordingId);
  if (row?.status !== 'ready') throw new Error(`recording ${recordingId} did not become ready: ${row?.error}`);
  return downloadMade(server, recordingId);
}

/** Writes the runs into an empty output (a 360p ladder), as the bridge's ffmpeg runs would. */
export async function recordInto(ffmpegPath: string, output: RunOutput, runs: readonly RecordedRun[]): Promise<void> {
  const ladder = ladderFor({ width: 640, height: 360 });
  await output.fixLadder(ladder);
  for (const [runId, { seconds, startedAt }] of runs.entries()) {
    await output.beginRun(runId, startedAt);
    for (const rung of ladder) {
      const dir = path.join(output.dir, rung.name);
      // Two-second GOPs at 30 fps, one-second segments cut at key frames only: what a live run looks like.
      await run(ffmpegPath, [
        ...['-hide_banner', '-loglevel', 'error', '-y'],
        ...['-f', 'lavfi', '-i', `testsrc2=size=${rung.width}x${rung.height}:rate=30:duration=${seconds}`],
        ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`],
        ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k'],
        ...['-f', 'hls', '-hls_time', '1', '-hls_playlist_type', 'event', '-hls_segment_type', 'fmp4'],
        ...[
          '-hls_fmp4_init_filename',
          runInitName(runId),
          '-hls_segment_filename',
          path.join(dir, runSegmentName(runId, 0).replace('00000', '%05d')),
        ],
        path.join(dir, runPlaylistName(runId)),
      ]);
    }
  }
}

/** The recording's row once its MP4 download is made (or failed). */
export async function downloadMade(server: TestServer, recordingId: string): Promise<Recording> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const row = await server.recordings.byId(recordingId);
    if (!row) throw new Error(`recording ${recordingId} is gone`);
    if (row.downloadStatus === 'ready' || row.downloadStatus === 'failed') return row;
    if (Date.now() > deadline) throw new Error(`the download of ${recordingId} stayed ${row.downloadStatus}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
