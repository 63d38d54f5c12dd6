// The replay's clock: moments of a class placed on a replay of several runs (with a gap between them, an
// overlap, a run without a known start), and back; and the run start times a bridge output keeps.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ladderFor } from '../../server/hls/ladder.ts';
import { ReplayClock } from '../../server/hls/replay-clock.ts';
import { MANIFEST_FILE, readRunTimes, RunOutput } from '../../server/hls/run-output.ts';

const T0 = Date.parse('2026-03-02T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

describe('ReplayClock', () => {
  // Run 0: 10:00:00 for 60 s; the server was down 30 s; run 1: 10:01:30 for 40 s.
  const clock = new ReplayClock(
    [
      { startedAt: at(0), durationSeconds: 60 },
      { startedAt: at(90), durationSeconds: 40 },
    ],
    at(0),
  );

  it('places moments within runs, in the gap, before and after', () => {
    expect(clock.durationSeconds).toBe(100);
    expect(clock.offsetOf(at(12.5))).toBe(12.5);
    expect(clock.offsetOf(at(75))).toBe(60); // in the gap: where the next run begins
    expect(clock.offsetOf(at(95))).toBe(65);
    expect(clock.offsetOf(at(-20))).toBe(0);
    expect(clock.offsetOf(at(500))).toBe(100);
    expect(clock.gaps()).toEqual([{ atSeconds: 60, seconds: 30 }]);
  });

  it('maps replay time back to the wall clock', () => {
    expect(clock.wallClockAt(12.5)).toEqual(at(12.5));
    expect(clock.wallClockAt(65)).toEqual(at(95));
    expect(clock.wallClockAt(60)).toEqual(at(90));
    expect(clock.wallClockAt(-1)).toEqual(at(0));
    expect(clock.wallClockAt(1000)).toEqual(at(130));
    expect(clock.offsetOf(clock.wallClockAt(77.25))).toBe(77.25);
  });

  it('lets a later run win where two overlap, and chains runs without a known start', () => {
    const overlap = new ReplayClock(
      [
        { startedAt: at(0), durationSeconds: 10 },
        { startedAt: at(8), durationSeconds: 10 },
      ],
      at(0),
    );
    expect(overlap.offsetOf(at(7))).toBe(7);
    expect(overlap.offsetOf(at(9))).toBe(11);
    expect(overlap.gaps()).toEqual([]);
    const unknown = new ReplayClock(
      [
        { startedAt: null, durationSeconds: 10 },
        { startedAt: null, durationSeconds: 5 },
        { startedAt: null, durationSeconds: 0 },
      ],
      at(3),
    );
    expect(unknown.offsetOf(at(14))).toBe(11);
    expect(unknown.durationSeconds).toBe(15);
    expect(() => new ReplayClock([], at(0)).wallClockAt(0)).toThrow(/no media/);
  });
});

describe('RunOutput run times', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-replay-clock-'));
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('keeps when each run began and measures it in the top rung; an older manifest has no starts', async () => {
    const output = await RunOutput.create(path.join(scratch, 'runs'), { classId: 'c', segmentSeconds: 1 });
    const ladder = ladderFor({ width: 640, height: 360 });
    await output.fixLadder(ladder);
    const before = Date.now();
    await output.beginRun(0);
    await output.beginRun(3);
    const after = Date.now();
    const top = path.join(output.dir, ladder[0]!.name);
    fs.writeFileSync(
      path.join(top, 'run-0.m3u8'),
      '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="run-0-init.mp4"\n#EXTINF:2.0,\nrun-0-00000.m4s\n#EXTINF:1.5,\nrun-0-00001.m4s\n',
    );
    const read = (name: string) => fs.promises.readFile(path.join(output.dir, name), 'utf8').catch(() => null);
    const { runs: times, createdAt } = (await readRunTimes(read))!;
    expect(createdAt.getTime()).toBeLessThanOrEqual(before);
    expect(times.map((t) => [t.runId, t.durationSeconds])).toEqual([
      [0, 3.5],
      [3, 0],
    ]);
    for (const t of times) {
      expect(t.startedAt!.getTime()).toBeGreaterThanOrEqual(before);
      expect(t.startedAt!.getTime()).toBeLessThanOrEqual(after);
    }

    const manifest = JSON.parse(fs.readFileSync(path.join(output.dir, MANIFEST_FILE), 'utf8'));
    delete manifest.runStartedAt;
    fs.writeFileSync(path.join(output.dir, MANIFEST_FILE), JSON.stringify(manifest));
    expect((await readRunTimes(read))!.runs.map((t) => t.startedAt)).toEqual([null, null]);
    expect(await RunOutput.open(output.dir)).not.toBeNull();
    expect(await readRunTimes(async () => null)).toBeNull();
  });
});
