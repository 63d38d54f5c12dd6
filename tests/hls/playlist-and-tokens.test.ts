// Joining ffmpeg runs into one playlist (discontinuities, live window numbering) and the signed media tokens.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { composeRuns, parseMediaPlaylist, renderMediaPlaylist, totalDuration } from '../../server/hls/playlist.ts';

/** The runs' segments as ffmpeg's playlists list them (a run without a playlist counts as empty). */
const runsIn = (ids: number[]) =>
  ids.map(
    (id) =>
      parseMediaPlaylist(fs.existsSync(path.join(dir, `run-${id}.m3u8`)) ? fs.readFileSync(path.join(dir, `run-${id}.m3u8`), 'utf8') : '')
        .segments,
  );
import { MediaTokens } from '../../server/hls/media-tokens.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-playlist-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function runPlaylist(runId: number, count: number): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-TARGETDURATION:1', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:EVENT'];
  for (let i = 0; i < count; i++)
    lines.push('#EXTINF:1.000000,', `#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:0${i}.000+0000`, `run-${runId}-0000${i}.ts`);
  return lines.join('\n') + '\n';
}

describe('composeRuns / renderMediaPlaylist', () => {
  fs.writeFileSync(path.join(dir, 'run-0.m3u8'), runPlaylist(0, 4));
  fs.writeFileSync(path.join(dir, 'run-2.m3u8'), runPlaylist(2, 3));
  // run 1 crashed before its first segment: no playlist at all.

  it('numbers segments across runs and marks a discontinuity where a run starts', async () => {
    const all = composeRuns(runsIn([0, 1, 2]));
    expect(all.map((s) => s.uri)).toEqual([
      'run-0-00000.ts',
      'run-0-00001.ts',
      'run-0-00002.ts',
      'run-0-00003.ts',
      'run-2-00000.ts',
      'run-2-00001.ts',
      'run-2-00002.ts',
    ]);
    expect(all.filter((s) => s.discontinuity).map((s) => s.sequence)).toEqual([4]);
    expect(totalDuration(all)).toBe(7);
  });

  it('renders a VOD playlist with ENDLIST and the discontinuity, and tokens on every URI', async () => {
    const text = renderMediaPlaylist(composeRuns(runsIn([0, 1, 2])), { type: 'vod', query: 'token=abc' });
    expect(text).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(text.trim().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(text.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
    expect(text).toContain('run-2-00000.ts?token=abc');
    expect(parseMediaPlaylist(text).segments).toHaveLength(7);
  });

  it('cuts a live window with the right media and discontinuity sequence numbers', async () => {
    const all = composeRuns(runsIn([0, 1, 2]));
    const text = renderMediaPlaylist(all, { type: 'live', window: 3 });
    expect(text).toContain('#EXT-X-MEDIA-SEQUENCE:4');
    // The window starts on the first segment after the discontinuity: it is counted, not repeated.
    expect(text).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:1');
    expect(text).not.toContain('#EXT-X-DISCONTINUITY\n');
    expect(text).not.toContain('ENDLIST');
    const wider = renderMediaPlaylist(all, { type: 'live', window: 5 });
    expect(wider).toContain('#EXT-X-MEDIA-SEQUENCE:2');
    expect(wider).not.toContain('DISCONTINUITY-SEQUENCE');
    expect(wider).toContain('#EXT-X-DISCONTINUITY\n');
  });
});

describe('MediaTokens', () => {
  const tokens = new MediaTokens('a test secret that is long enough', 60);
  const scope = { kind: 'class', id: '0b8f1f7e-0000-4000-8000-000000000001' } as const;

  it('accepts its own token for the scope it was issued for', () => {
    const { token } = tokens.sign(scope, 'user-1');
    const check = tokens.verify(token, scope);
    expect(check.ok && check.claims.userId).toBe('user-1');
  });

  it('refuses an expired token, another scope, a tampered token and another secret', () => {
    const { token } = tokens.sign(scope, 'user-1', 60, Date.now() - 120_000);
    expect(tokens.verify(token, scope)).toEqual({ ok: false, reason: 'expired' });
    const fresh = tokens.sign(scope, 'user-1').token;
    expect(tokens.verify(fresh, { kind: 'recording', id: scope.id })).toEqual({ ok: false, reason: 'wrong_scope' });
    const [payload, mac] = fresh.split('.');
    const forged = Buffer.from(Buffer.from(payload!, 'base64url').toString().replace('user-1', 'user-2')).toString('base64url');
    expect(tokens.verify(`${forged}.${mac}`, scope)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(new MediaTokens(undefined).verify(fresh, scope)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(tokens.verify(undefined, scope)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('keeps the kinds apart: a lesson token opens only that lesson, never a class or recording with the same id', () => {
    const id = scope.id;
    const lesson = tokens.sign({ kind: 'lesson', id }, 'user-1').token;
    const check = tokens.verify(lesson, { kind: 'lesson', id });
    expect(check.ok && check.claims.scope).toEqual({ kind: 'lesson', id });
    expect(tokens.verify(lesson, { kind: 'recording', id })).toEqual({ ok: false, reason: 'wrong_scope' });
    expect(tokens.verify(lesson, { kind: 'class', id })).toEqual({ ok: false, reason: 'wrong_scope' });
    for (const kind of ['class', 'recording'] as const) {
      expect(tokens.verify(tokens.sign({ kind, id }, 'user-1').token, { kind: 'lesson', id })).toEqual({
        ok: false,
        reason: 'wrong_scope',
      });
    }
    // The old work-around's scope (a recording named "lesson-<id>") no longer opens a lesson.
    expect(tokens.verify(tokens.sign({ kind: 'recording', id: `lesson-${id}` }, 'user-1').token, { kind: 'lesson', id })).toEqual({
      ok: false,
      reason: 'wrong_scope',
    });
  });
});
