// A live class when networks misbehave, in real Chromium against the real SFU and HLS bridge:
// - a student whose WebRTC cannot connect (ICE never succeeds, and a restart does not heal it) is moved to the
//   broadcast (HLS) by itself, is told why, plays the stream, and can try real time again;
// - a student who picks "Low bandwidth (HLS)" holds nothing on the SFU (no transport, no consumer) until they
//   switch back;
// - a student and a teacher whose network drops for a few seconds come back without a reload: the studio
//   publishes again and the student's video plays again.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, PROBE } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createLiveClass, type ClassFixture, type Person } from '../sfu/fixtures.ts';

/**
 * Keeps every RTCPeerConnection (for statistics) and, while `window.__blockIce` is true, removes the remote
 * ICE candidates from every description the page applies: the browser then has nobody to send checks to, so
 * ICE can never connect (as behind a firewall that drops the SFU's UDP and TCP ports).
 */
const ICE_CONTROL = `(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.__blockIce = false;
  const strip = (d) => d && d.sdp && window.__blockIce
    ? { type: d.type, sdp: d.sdp.split('\\r\\n').filter((l) => !l.startsWith('a=candidate')).join('\\r\\n') }
    : d;
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
    setRemoteDescription(d) { return super.setRemoteDescription(strip(d)); }
    addIceCandidate(c) { return window.__blockIce ? Promise.resolve() : super.addIceCandidate(c); }
  };
})();`;

let server: TestServer;
let browser: Browser;

async function contextFor(person: Person, options: { blockIce?: boolean } = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const [name, value] = person.client.cookieHeader.split('=') as [string, string];
  await context.addCookies([{ name, value, url: server.url }]);
  await context.addInitScript(ICE_CONTROL);
  if (options.blockIce) await context.addInitScript('window.__blockIce = true;');
  return context;
}

const frames = (page: Page, testid = 'teacher-video'): Promise<number> =>
  page
    .getByTestId(testid)
    .first()
    .evaluate((v) => Number((v as HTMLVideoElement).dataset.frames ?? 0), undefined, PROBE);

const hlsTime = (page: Page): Promise<number> =>
  page
    .getByTestId('hls-video')
    .first()
    .evaluate((v) => (v as HTMLVideoElement).currentTime, undefined, PROBE);

/** Bytes of media received over every peer connection of the page that is still open. */
const inboundBytes = (page: Page): Promise<number> =>
  page.evaluate(async () => {
    let bytes = 0;
    for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp') bytes += s.bytesReceived ?? 0;
      });
    }
    return bytes;
  });

/** Video keeps coming: the frame count grows by `by` from now (the element may be new after a rebuild). */
async function expectVideoFlowing(page: Page, timeout = 20_000, by = 20): Promise<void> {
  await expect.poll(() => frames(page), { timeout }).toBeGreaterThan(5);
  const before = await frames(page);
  await expect.poll(() => frames(page), { timeout }).toBeGreaterThan(before + by);
}

function debug(name: string, page: Page): void {
  if (!process.env.DEBUG_PAGES) return;
  page.on('console', (m) => console.log(name, m.type(), m.text()));
  page.on('pageerror', (e) => console.log(name, 'pageerror', e.message));
}

/** What the SFU holds for the class's students: peers and their consumers (the HLS bridge is not a peer). */
function studentMedia(classId: string): { peers: number; consumers: number; transports: number } {
  const peers =
    server.rooms
      .get(classId)
      ?.peers()
      .filter((p) => p.role === 'student') ?? [];
  return {
    peers: peers.length,
    consumers: peers.reduce((n, p) => n + p.consumers.size, 0),
    transports: peers.reduce((n, p) => n + p.transports.size, 0),
  };
}

/** The sources the teacher publishes on the class's SFU room, sorted. */
const liveSources = (classId: string): string[] =>
  server.rooms
    .get(classId)
    ?.mediaSources()
    .map((s) => s.source)
    .sort() ?? [];

async function goLive(f: ClassFixture): Promise<Page> {
  const teacher = await (await contextFor(f.teacher)).newPage();
  debug('teacher', teacher);
  await teacher.goto(`${server.url}/studio/${f.classId}`);
  await teacher.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
  await expect.poll(() => teacher.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');
  // What the students will consume: both the camera and the microphone on the SFU.
  await expect.poll(() => liveSources(f.classId), { timeout: 30_000 }).toEqual(['camera', 'mic']);
  return teacher;
}

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer({ app: 'build' }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('live class resilience in the browser', () => {
  it('moves a student whose ICE fails to HLS, says why, plays it, and can try real time again; the HLS switch holds nothing on the SFU', async () => {
    const f = await createLiveClass(server);
    const teacher = await goLive(f);
    const student = await (await contextFor(f.students[0]!, { blockIce: true })).newPage();
    debug('student', student);
    await student.goto(`${server.url}/classes/${f.classId}`);

    // ICE never connects; after the connect timeout and one ICE restart the page switches to the broadcast.
    await expect.poll(() => student.getByTestId('hls-fallback').getAttribute('data-cause', PROBE), { timeout: 45_000 }).toBe('ice');
    expect(await student.getByTestId('hls-fallback-notice').textContent()).toContain(
      'Connection problem: switched to broadcast mode (HLS)',
    );
    expect(await student.getByTestId('viewer-mode').textContent()).toContain('HLS');
    expect(await student.getByTestId('teacher-video').count()).toBe(0);
    // The SFU holds nothing for the student any more, and the teacher sees them on the stream.
    await expect.poll(() => studentMedia(f.classId)).toEqual({ peers: 0, consumers: 0, transports: 0 });
    await expect.poll(() => teacher.getByTestId('viewer-list').textContent()).toContain('stream');
    // The broadcast plays.
    await expect.poll(() => hlsTime(student), { timeout: 45_000 }).toBeGreaterThan(1);
    const t1 = await hlsTime(student);
    await expect.poll(() => hlsTime(student), { timeout: 15_000 }).toBeGreaterThan(t1 + 1);

    // The network is fine again: "Try live (WebRTC) again" brings the real-time video back.
    await student.evaluate(() => ((window as unknown as { __blockIce: boolean }).__blockIce = false));
    await student.getByRole('button', { name: 'Try live (WebRTC) again' }).click();
    await expectVideoFlowing(student);
    expect(await student.getByTestId('hls-live').count()).toBe(0);
    await expect.poll(() => studentMedia(f.classId).consumers).toBe(2); // camera + mic

    // "Low bandwidth (HLS)": the consumers and the receive transport close on the server; no media flows.
    await student.getByTestId('prefer-hls').check();
    await expect.poll(() => student.getByTestId('hls-live').count()).toBe(1);
    expect(await student.getByTestId('hls-fallback-notice').count()).toBe(0);
    await expect.poll(() => studentMedia(f.classId)).toEqual({ peers: 0, consumers: 0, transports: 0 });
    expect(await inboundBytes(student)).toBe(0);
    await expect.poll(() => hlsTime(student), { timeout: 30_000 }).toBeGreaterThan(1);
    // Unchecked: real time again.
    await student.getByTestId('prefer-hls').uncheck();
    await expectVideoFlowing(student);
    await expect.poll(() => studentMedia(f.classId).consumers).toBe(2);
    const bytes = await inboundBytes(student);
    await expect.poll(() => inboundBytes(student)).toBeGreaterThan(bytes + 10_000);

    await Promise.all([teacher.context().close(), student.context().close()]);
  });

  it('a student and a teacher whose network drops come back without a reload', async () => {
    const f = await createLiveClass(server);
    const teacher = await goLive(f);
    const student = await (await contextFor(f.students[0]!)).newPage();
    debug('student', student);
    await student.goto(`${server.url}/classes/${f.classId}`);
    await expectVideoFlowing(student);
    const navigations = { teacher: 0, student: 0 };
    teacher.on('framenavigated', () => navigations.teacher++);
    student.on('framenavigated', () => navigations.student++);

    // The student's network drops for a few seconds.
    await student.context().setOffline(true);
    await expect.poll(() => student.getByText('Connection lost').count(), { timeout: 30_000 }).toBe(1);
    // Down long enough for the server to notice: the student's peer is gone from the SFU room.
    await expect.poll(() => studentMedia(f.classId).peers, { timeout: 30_000 }).toBe(0);
    await student.context().setOffline(false);
    await expect.poll(() => student.getByText('Connection lost').count(), { timeout: 30_000 }).toBe(0);
    await expectVideoFlowing(student, 30_000);

    // The teacher's network drops: the studio shows it, then publishes again by itself.
    const room = server.rooms.get(f.classId)!;
    const cameraBefore = room.mediaSources().find((s) => s.source === 'camera')!.producer.id;
    await teacher.context().setOffline(true);
    await expect.poll(() => teacher.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('reconnecting');
    // Down long enough for the server to notice: the teacher's camera left the room with the old connection.
    await expect.poll(() => liveSources(f.classId), { timeout: 30_000 }).not.toContain('camera');
    await teacher.context().setOffline(false);
    await expect.poll(() => teacher.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');
    // A new camera producer (the old one closed with the teacher's old connection); the student watches it.
    const cameraNow = (): string | undefined => room.mediaSources().find((s) => s.source === 'camera')?.producer.id;
    await expect.poll(() => cameraNow() !== undefined && cameraNow() !== cameraBefore, { timeout: 20_000 }).toBe(true);
    await expect.poll(() => liveSources(f.classId)).toEqual(['camera', 'mic']);
    await expectVideoFlowing(student, 30_000);
    expect(navigations).toEqual({ teacher: 0, student: 0 });

    await Promise.all([teacher.context().close(), student.context().close()]);
  });
});
