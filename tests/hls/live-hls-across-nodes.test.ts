// Live HLS served by any node: two Lectern processes sharing PostgreSQL, Redis and the media secret. The
// teacher goes live from the studio in Chromium on node A (the class's origin: its bridge makes the HLS); a
// student whose requests land on node B gets the live stream from B, which relays each request to A (the node
// holding the class's origin claim): the master and Low-Latency media playlists (parsed with hls-parser), a
// blocking reload held until the next part exists, parts and segments with the origin's bytes (a range too),
// and the recording A writes meanwhile. B checks the token itself, as A does.
import crypto from 'node:crypto';
import HLS from 'hls-parser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextAs, launchChromium } from '../helpers/browser.ts';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { insertClass } from '../helpers/live-class.ts';
import { startProcessPair, type ProcessPair } from '../helpers/process-pair.ts';

let pair: ProcessPair;
let browser: Browser;
let teacher: RegisteredUser;
let student: RegisteredUser;
let outsider: RegisteredUser;
let classId: string;

function mediaPlaylist(text: string): HLS.types.MediaPlaylist {
  const parsed = HLS.parse(text);
  if (parsed.isMasterPlaylist) throw new Error('a master playlist');
  return parsed;
}

beforeAll(async () => {
  [pair, browser] = await Promise.all([
    startProcessPair('live-hls-relay', {
      // A's studio pages for the teacher's Chromium; one media secret, so a token signed by one node opens media on the other.
      LECTERN_TEST_APP: 'build',
      LECTERN_MEDIA_SECRET: crypto.randomBytes(24).toString('base64url'),
    }),
    launchChromium(),
  ]);
  [teacher, student, outsider] = await Promise.all([
    registerUser(pair.a.url, 'teacher', 'Teacher on A'),
    registerUser(pair.b.url, 'student', 'Student on B'),
    registerUser(pair.b.url, 'student', 'Not enrolled'),
  ]);
  ({ classId } = await insertClass(pair.database.db, {
    teacherId: teacher.user.id,
    studentIds: [student.user.id],
    title: 'Relayed, live',
    courseTitle: 'Two nodes',
    live: false,
  }));
});
afterAll(async () => {
  await browser?.close();
  await pair?.stop();
});

describe('live HLS across nodes', () => {
  it('serves the live class streamed by node A to a student on node B, LL-HLS blocking reloads and parts included', async () => {
    const studio = await (await contextAs(browser, pair.a.url, teacher)).newPage();
    await studio.goto(`${pair.a.url}/studio/${classId}`);
    await studio.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    await expect.poll(() => studio.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');

    // B does not stream the class: it asks A, the class's origin, how far the stream got; the URL is relative (B's own).
    let view: { status: string; playlistUrl: string | null } = { status: 'offline', playlistUrl: null };
    await expect
      .poll(
        async () => {
          view = (await student.client.get(`/api/media/classes/${classId}/live`)).body;
          return view.status;
        },
        { timeout: 60_000 },
      )
      .toBe('live');
    expect(student.client.baseUrl).toBe(pair.b.url);
    const masterUrl = `${pair.b.url}${view.playlistUrl!}`;

    const master = await fetch(masterUrl);
    expect(master.status).toBe(200);
    expect(master.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const variants = (HLS.parse(await master.text()) as HLS.types.MasterPlaylist).variants;
    expect(variants.length).toBeGreaterThan(0);
    const playlistUrl = new URL(variants[0]!.uri, masterUrl).href;

    // The Low-Latency playlist as A makes it, through B: parts and a preload hint at the live edge.
    let live: HLS.types.MediaPlaylist | undefined;
    await expect
      .poll(
        async () => {
          const res = await fetch(playlistUrl);
          live = res.status === 200 ? mediaPlaylist(await res.text()) : undefined;
          return live?.segments.filter((s) => s.uri).length ?? 0;
        },
        { timeout: 30_000 },
      )
      .toBeGreaterThanOrEqual(2);
    expect(live!.lowLatencyCompatibility).toMatchObject({ canBlockReload: true });
    const edge = live!.segments.at(-1)!;
    const done = edge.parts.filter((p) => !p.hint);

    // A blocking reload through B for the part after the newest: held open until A has it, then answered.
    const next = `_HLS_msn=${edge.mediaSequenceNumber}&_HLS_part=${done.length}`;
    const blocked = await fetch(`${playlistUrl}${playlistUrl.includes('?') ? '&' : '?'}${next}`);
    expect(blocked.status).toBe(200);
    const answer = mediaPlaylist(await blocked.text());
    const parts = answer.segments.flatMap((s) => s.parts.filter((p) => !p.hint).map((p) => ({ msn: s.mediaSequenceNumber, uri: p.uri })));
    expect(parts.some((p) => p.msn > edge.mediaSequenceNumber || p.uri.includes(`-p${done.length}.m4s`))).toBe(true);

    // Parts and segments arrive through B with A's bytes; a range of a segment is answered 206.
    const newestPart = new URL(parts.at(-1)!.uri, playlistUrl).href;
    const viaB = await fetch(newestPart);
    expect(viaB.status).toBe(200);
    expect(viaB.headers.get('content-type')).toBe('video/iso.segment');
    const partBytes = Buffer.from(await viaB.arrayBuffer());
    expect(partBytes.length).toBeGreaterThan(0);
    const fromA = Buffer.from(await (await fetch(newestPart.replace(pair.b.url, pair.a.url))).arrayBuffer());
    expect(partBytes.equals(fromA)).toBe(true);
    const segmentUrl = new URL(answer.segments.find((s) => s.uri)!.uri, playlistUrl).href;
    const segment = Buffer.from(await (await fetch(segmentUrl)).arrayBuffer());
    expect(segment.length).toBeGreaterThan(100);
    const ranged = await fetch(segmentUrl, { headers: { range: 'bytes=0-99' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 0-99/${segment.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(segment.subarray(0, 100))).toBe(true);

    // The class's recording, written on A while the class is on, plays through B too (its growing EVENT playlist).
    const [recording] = (await student.client.get(`/api/media/classes/${classId}/recordings`)).body.recordings;
    expect(recording.status).toBe('recording');
    const recordingMaster = `${pair.b.url}${recording.playlistUrl}`;
    const recordingMasterAnswer = await fetch(recordingMaster);
    expect(recordingMasterAnswer.status).toBe(200);
    const recordingVariant = (HLS.parse(await recordingMasterAnswer.text()) as HLS.types.MasterPlaylist).variants[0]!;
    const growing = await fetch(new URL(recordingVariant.uri, recordingMaster));
    expect(growing.status).toBe(200);
    const event = mediaPlaylist(await growing.text());
    expect(event.playlistType).toBe('EVENT');
    expect(event.segments.length).toBeGreaterThan(0);

    // B checks tokens before relaying anything: none, or one of someone not in the class.
    expect((await outsider.client.get(`/api/media/classes/${classId}/live`)).status).toBe(403);
    const bare = `${pair.b.url}/media/classes/${classId}/live/master.m3u8`;
    expect((await fetch(bare)).status).toBe(403);
    const forged = masterUrl.replace(/\/media\/t\/[^/]+\//, `/media/t/${encodeURIComponent('x'.repeat(40))}.${'y'.repeat(43)}/`);
    expect((await fetch(forged)).status).toBe(403);

    // The class ends on A: its origin claim goes, so B stops relaying and says so.
    await studio.getByRole('button', { name: 'End class' }).click();
    await studio.getByRole('button', { name: 'Yes, end class' }).click();
    await expect
      .poll(async () => (await student.client.get(`/api/media/classes/${classId}/live`)).body.status, { timeout: 30_000 })
      .toBe('offline');
    expect((await fetch(masterUrl)).status).toBe(404);
  }, 180_000);
});
