// The tests that depend on the calendar (scheduling windows, time zones, "My schedule" and its .ics) pass on
// any day of the year, not only in the season they were written in: they run again in a vitest of their own
// whose process tree (the test, the in-process server, PGlite) reads its clock through libfaketime, once on
// the next 15 January just after midnight and once on the next 15 December just before midnight (UTC).
// The PostgreSQL server keeps the machine's clock, so those runs use PGlite (tests/helpers/databases.ts).
// The browser journey (tests/browser/learning-journey.test.ts) schedules relative to today as well; the
// window it depends on is the server's, which this file moves.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** The files whose outcome could depend on today's date. */
const DATE_DEPENDENT = ['tests/api/schedule-api.test.ts'];

/** The next `month`/`day` at `time` (UTC) strictly after today, as faketime reads it. */
function next(month: number, day: number, time: string): string {
  const now = new Date();
  let year = now.getUTCFullYear();
  if (Date.UTC(year, month - 1, day) <= now.getTime()) year++;
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')} ${time}`;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-clock-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Report {
  startTime: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: { name: string }[];
}

async function vitestAt(timestamp: string): Promise<{ code: number | null; output: string; report: Report | undefined }> {
  const json = path.join(tmp, `${timestamp.replace(/\W/g, '-')}.json`);
  // -m: the thread-safe library (Node and mediasoup are multi-threaded). Monotonic clocks stay
  // real so timers and timeouts behave; the wall clock starts at `timestamp` and runs on from there.
  const child = spawn(
    'faketime',
    [
      '-m',
      timestamp,
      process.execPath,
      'node_modules/vitest/vitest.mjs',
      'run',
      '--reporter=dot',
      '--reporter=json',
      `--outputFile.json=${json}`,
      ...DATE_DEPENDENT,
    ],
    { env: { ...process.env, TZ: 'UTC', FAKETIME_DONT_FAKE_MONOTONIC: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d));
  child.stderr.on('data', (d: Buffer) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const report = fs.existsSync(json) ? (JSON.parse(fs.readFileSync(json, 'utf8')) as Report) : undefined;
  return { code, output, report };
}

describe('date-dependent tests on other days of the year', () => {
  it.each([next(1, 15, '00:20:00'), next(12, 15, '23:40:00')])(
    'pass with the clock at %s UTC',
    async (timestamp) => {
      const { code, output, report } = await vitestAt(timestamp);
      expect(report, output.slice(-4000)).toBeDefined();
      // The clock really moved for that run (vitest stamps its start with the faked Date.now()).
      expect(new Date(report!.startTime).toISOString().slice(0, 10), output.slice(-4000)).toBe(timestamp.slice(0, 10));
      expect(report!.testResults.map((r) => path.relative(process.cwd(), r.name)).sort()).toEqual([...DATE_DEPENDENT].sort());
      expect({ code, failed: report!.numFailedTests, skipped: report!.numPendingTests }, output.slice(-4000)).toEqual({
        code: 0,
        failed: 0,
        skipped: 0,
      });
      expect(report!.numPassedTests).toBeGreaterThan(0);
    },
    300_000,
  );
});
