// An encoder that is not the browser studio publishes a class over WHIP: a Chromium page with a fake camera and
// microphone doing the plain WHIP exchange (fetch + RTCPeerConnection, no mediasoup-client, from another
// origin so CORS is exercised), once with a VP8 simulcast offer and once with a single H.264 stream. A student
// in Chromium decodes the video and receives the audio on the class page, the HLS bridge makes the ladder
// from it, a second encoder is refused (409), the studio's view shows the incoming stream, and the encoder's
// DELETE (VP8) or the key's rotation (H.264) ends the broadcast while the class stays live for the grace period.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, otherOrigin, PROBE } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { parseMasterPlaylist } from '../hls/hls-probe.ts';
import { createLiveClass, type Person } from '../sfu/fixtures.ts';
import { browserWhipState, encoderOffer, publishFromBrowser, sentSizes, stopFromBrowser } from '../sfu/whip-clients.ts';

const RECORD_PEER_CONNECTIONS = `(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
})();`;

const frames = (page: Page, testid: string): Promise<number> =>
  page
    .getByTestId(testid)
    .first()
    .evaluate((v) => Number((v as HTMLVideoElement).dataset.frames ?? 0), undefined, PROBE);

const inboundAudioBytes = (page: Page): Promise<number> =>
  page.evaluate(async () => {
    let bytes = 0;
    for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') bytes += s.bytesReceived ?? 0;
      });
    }
    return bytes;
  });

describe.each([
  { codec: 'VP8' as const, simulcast: true, stop: 'delete' as const },
  { codec: 'H264' as const, simulcast: false, stop: 'rotate' as const },
])('WHIP publish from a plain RTCPeerConnection ($codec)', ({ codec, simulcast, stop }) => {
  let server: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer({ app: 'build' }), launchChromium()]);
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.stop();
  });

  async function pageFor(person: Person | null): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    contexts.push(context);
    if (person) {
      const [name, value] = person.client.cookieHeader.split('=') as [string, string];
      await context.addCookies([{ name, value, url: server.url }]);
    }
    await context.addInitScript(RECORD_PEER_CONNECTIONS);
    return context.newPage();
  }

  it('a student decodes the encoder, HLS runs from it, a second encoder is refused, and stopping ends the broadcast', async () => {
    const f = await createLiveClass(server);
    const made = await f.teacher.client.post(`/api/classes/${f.classId}/stream-key`);
    expect(made.status).toBe(201);
    const { key, whipUrl } = made.body as { key: string; whipUrl: string };

    const student = await pageFor(f.students[0]!);
    await student.goto(`${server.url}/classes/${f.classId}`);
    await expect.poll(() => student.getByTestId('class-waiting').count()).toBe(1);

    // The encoder: a page of another origin (localhost for 127.0.0.1: both are secure contexts, so the fake
    // camera opens), without the teacher's cookie; its POST goes through CORS preflight. A static file of the
    // app, since API answers carry a CSP that allows no fetch at all.
    const encoder = await pageFor(null);
    await encoder.goto(otherOrigin(`${server.url}/favicon.svg`));
    const published = await publishFromBrowser(encoder, { whipUrl, key, codec, simulcast });
    expect(published, published.body).toMatchObject({ status: 201, contentType: 'application/sdp' });
    expect(published.location).toMatch(new RegExp(`^/api/classes/${f.classId}/whip/[0-9a-f-]{36}$`));
    expect(published.etag).toBeTruthy();
    await expect.poll(async () => (await browserWhipState(encoder)).state, { timeout: 15_000 }).toBe('connected');

    // In the room as the teacher's camera and mic, in the offered codec (and layers).
    const room = server.rooms.get(f.classId)!;
    await expect
      .poll(() =>
        room
          .mediaSources()
          .map((s) => s.source)
          .sort(),
      )
      .toEqual(['camera', 'mic']);
    const camera = room.mediaSources().find((s) => s.source === 'camera')!.producer;
    expect(camera.rtpParameters.codecs[0]!.mimeType).toBe(`video/${codec}`);
    expect(camera.type).toBe(simulcast ? 'simulcast' : 'simple');
    expect(camera.rtpParameters.encodings).toHaveLength(simulcast ? 3 : 1);
    expect(await server.liveClasses.status(f.classId)).toMatchObject({ status: 'live', teacher: 'present' });

    // The student's class page plays it: decoded frames keep coming, audio bytes keep growing.
    await expect.poll(() => student.getByTestId('class-phase').getAttribute('data-phase'), { timeout: 15_000 }).toBe('live');
    await expect.poll(() => frames(student, 'teacher-video'), { timeout: 20_000 }).toBeGreaterThan(10);
    const framesBefore = await frames(student, 'teacher-video');
    await expect.poll(() => frames(student, 'teacher-video'), { timeout: 10_000 }).toBeGreaterThan(framesBefore + 20);
    await expect.poll(() => inboundAudioBytes(student), { timeout: 15_000 }).toBeGreaterThan(0);

    // The studio's view of the encoder: the incoming stream, with its bitrate.
    await expect
      .poll(async () => (await f.teacher.client.get(`/api/classes/${f.classId}/encoder`)).body.session, { timeout: 10_000 })
      .toMatchObject({ connected: true, bitrate: expect.any(Number), video: { mimeType: `video/${codec}`, layers: simulcast ? 3 : 1 } });
    // What the encoder sends, read from the media: a picture size the sender reports sending (the best layer that
    // arrives; Chrome lowers the size when the machine is busy), and a frame rate.
    await expect
      .poll(
        async () => {
          const video = (await f.teacher.client.get(`/api/classes/${f.classId}/encoder`)).body.session.video;
          return video.width && video.frameRate > 0 && (await sentSizes(encoder)).includes(`${video.width}x${video.height}`);
        },
        { timeout: 15_000 },
      )
      .toBe(true);
    const measured = (await f.teacher.client.get(`/api/classes/${f.classId}/encoder`)).body.session;
    expect(measured.bitrate).toBeGreaterThan(10_000);
    expect(measured.video.width / measured.video.height).toBeCloseTo(16 / 9, 1);

    // A second encoder while this one sends: 409.
    const second = await fetch(whipUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
      body: encoderOffer(),
    });
    expect(second.status).toBe(409);
    expect(((await second.json()) as { error: { message: string } }).error.message).toMatch(/already publishing/);

    // The HLS bridge makes the ladder from the encoder's video.
    await expect
      .poll(async () => (await f.students[0]!.client.get(`/api/media/classes/${f.classId}/live`)).body.status, {
        timeout: 60_000,
        interval: 500,
      })
      .toBe('live');
    const view = (await f.students[0]!.client.get(`/api/media/classes/${f.classId}/live`)).body as { playlistUrl: string; token: string };
    const master = await fetch(`${server.url}${view.playlistUrl}`);
    expect(master.status).toBe(200);
    const variants = parseMasterPlaylist(await master.text());
    expect(variants.length).toBeGreaterThan(0);
    const top = variants[0]!;
    const media = new URL(top.uri, `${server.url}${view.playlistUrl}`);
    media.searchParams.set('token', view.token);
    // The ladder's top rung lists media segments (whatever their container) once ffmpeg writes them.
    await expect
      .poll(
        async () => {
          const playlist = await (await fetch(media)).text();
          return playlist.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).length;
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBeGreaterThan(0);

    // Stopping: OBS's DELETE (200), or the teacher rotating the key. The encoder's media leaves the room, the
    // student's video goes, and the class stays live with the teacher away (grace period).
    if (stop === 'delete') {
      expect(await stopFromBrowser(encoder, key)).toBe(200);
    } else {
      expect((await f.teacher.client.post(`/api/classes/${f.classId}/stream-key`)).status).toBe(201);
      const oldKey = await fetch(whipUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
        body: encoderOffer(),
      });
      expect(oldKey.status).toBe(401);
    }
    expect(room.mediaSources()).toEqual([]);
    await expect.poll(() => student.getByTestId('teacher-video').count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(async () => server.liveClasses.status(f.classId)).toMatchObject({ status: 'live', teacher: 'away' });
    if (stop === 'rotate')
      await expect.poll(async () => (await browserWhipState(encoder)).state, { timeout: 60_000 }).not.toBe('connected');
  });
});
