// A WHEP player that is not the class page watches a class: a Chromium page doing the plain WHEP exchange (fetch
// + a recvonly RTCPeerConnection, no mediasoup-client), on another origin with the student's media token as the
// bearer (so CORS is exercised, and no cookie goes along), while the teacher publishes from an encoder over
// WHIP (a Chromium page too): VP8 with simulcast once, single H.264 once, the player offering what Chromium
// offers. The player decodes the video and receives the audio, counts as a WebRTC viewer in presence, keeps
// playing when the encoder reconnects (new producers: the section moves to the new camera), shows in the
// teacher's list of connections, and leaves by DELETE.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, otherOrigin } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import type { QualityPush } from '../../server/contracts/connection-quality.ts';
import { askOk, createLiveClass, socketFor } from '../sfu/fixtures.ts';
import { browserWhipState, publishFromBrowser, stopFromBrowser } from '../sfu/whip-clients.ts';
import { browserWhepState, playFromBrowser, stopPlaying } from '../sfu/whep-clients.ts';

describe.each([
  { codec: 'VP8' as const, simulcast: true },
  { codec: 'H264' as const, simulcast: false },
])('WHEP playback in a plain RTCPeerConnection (teacher sends $codec)', ({ codec, simulcast }) => {
  let server: TestServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer({ app: 'build' }), launchChromium()]);
  });
  const sockets: Socket[] = [];
  afterAll(async () => {
    for (const s of sockets) s.close();
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.stop();
  });

  /**
   * A page of the other origin without any cookie: a static file of the app (pages and API answers carry a CSP
   * that allows no such fetch), where the test runs the WHIP or WHEP exchange.
   */
  async function foreignPage(): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(otherOrigin(`${server.url}/favicon.svg`));
    return page;
  }

  async function encoderPublishes(whipUrl: string, key: string): Promise<Page> {
    const encoder = await foreignPage();
    const published = await publishFromBrowser(encoder, { whipUrl, key, codec, simulcast });
    expect(published, published.body).toMatchObject({ status: 201 });
    await expect.poll(async () => (await browserWhipState(encoder)).state, { timeout: 15_000 }).toBe('connected');
    return encoder;
  }

  it('decodes the teacher, counts as a viewer, follows the encoder reconnecting, and leaves by DELETE', async () => {
    const f = await createLiveClass(server);
    const student = f.students[0]!;
    const made = await f.teacher.client.post(`/api/classes/${f.classId}/stream-key`);
    expect(made.status).toBe(201);
    const { key, whipUrl } = made.body as { key: string; whipUrl: string };
    const encoder = await encoderPublishes(whipUrl, key);

    // The student's media token, as the class page gets it; the player uses it as its bearer.
    const live = await student.client.get(`/api/media/classes/${f.classId}/live`);
    expect(live.status).toBe(200);
    const token = live.body.token as string;
    const whepUrl = `${server.url}/api/classes/${f.classId}/whep`;
    const player = await foreignPage();
    const played = await playFromBrowser(player, { whepUrl, token });
    expect(played, played.body).toMatchObject({ status: 201, contentType: 'application/sdp' });
    expect(played.location).toMatch(new RegExp(`^/api/classes/${f.classId}/whep/[0-9a-f-]{36}$`));
    expect(played.etag).toBeTruthy();

    await expect.poll(async () => (await browserWhepState(player)).state, { timeout: 15_000 }).toBe('connected');
    await expect.poll(async () => (await browserWhepState(player)).framesDecoded, { timeout: 20_000 }).toBeGreaterThan(10);
    await expect.poll(async () => (await browserWhepState(player)).audioPackets, { timeout: 15_000 }).toBeGreaterThan(10);
    const [session] = server.whepPlayback.sessionsOf(f.classId);
    expect(session!.playing()).toMatchObject({ '0': { source: 'camera' }, '1': { source: 'mic' } });
    // In presence as a student receiving over WebRTC.
    await expect
      .poll(() => server.liveClasses.presence(f.classId)?.viewers.find((v) => v.userId === student.user.id)?.mode, { timeout: 10_000 })
      .toBe('webrtc');
    // The teacher's list of connections shows the player: over UDP, with what the server sends it.
    const staff = await socketFor(server, f.teacher);
    sockets.push(staff);
    let latest: QualityPush | undefined;
    staff.on('quality:update', (push: QualityPush) => (latest = push));
    await askOk(staff, 'class:join', { classId: f.classId });
    await expect
      .poll(() => latest?.students.find((s) => s.userId === student.user.id), { timeout: 20_000 })
      .toMatchObject({ mode: 'webrtc', via: 'udp', kbps: expect.any(Number) });
    expect(latest!.students.find((s) => s.userId === student.user.id)!.kbps).toBeGreaterThan(0);

    // The encoder stops and comes back (OBS restarting): new producers, and the player's video goes on.
    expect(await stopFromBrowser(encoder, key)).toBe(200);
    await expect.poll(() => session!.playing()['0']).toBeNull();
    const before = await browserWhepState(player);
    await encoderPublishes(whipUrl, key);
    const camera = server.rooms
      .get(f.classId)!
      .mediaSources()
      .find((s) => s.source === 'camera')!.producer.id;
    await expect.poll(() => session!.playing()['0']?.producerId).toBe(camera);
    // The new camera arrives as a new stream of the same section, and decodes.
    const oldSsrcs = before.videoStreams.map((v) => v.ssrc);
    await expect
      .poll(async () => (await browserWhepState(player)).videoStreams.find((v) => !oldSsrcs.includes(v.ssrc))?.framesDecoded ?? 0, {
        timeout: 20_000,
      })
      .toBeGreaterThan(20);
    expect((await browserWhepState(player)).state).toBe('connected');

    // The player leaves as players do: it closes its connection (the DTLS close ends the session at once), then
    // sends DELETE with its token, which still answers 200; the session and its presence are gone.
    await player.evaluate(() => (window as unknown as { __whep: { pc: RTCPeerConnection } }).__whep.pc.close());
    await expect.poll(() => session!.closed, { timeout: 10_000 }).toBe(true);
    expect(await stopPlaying(player, token)).toBe(200);
    expect(server.whepPlayback.sessionsOf(f.classId)).toEqual([]);
    await expect.poll(() => server.liveClasses.presence(f.classId)?.viewers.some((v) => v.userId === student.user.id)).toBe(false);
  });
});
