// The studio says "live" only when the teacher's media reaches the media server. A teacher whose firewall lets
// through nothing but the web server (no UDP, no TCP to the media server, no TURN configured) is told in plain
// words what is wrong instead of "Reconnecting…" forever, and students are told that the teacher's video does
// not get through; once the firewall opens, the studio turns live by itself and the student decodes the video.
// The teacher runs in a network namespace with nftables rules, in a Chromium of their own.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, PROBE } from '../helpers/browser.ts';
import { createStudentNetwork, type StudentNetwork } from '../helpers/netns.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { mediaPath, RECORD_PEER_CONNECTIONS } from '../helpers/webrtc-stats.ts';
import { createLiveClass, type ClassFixture, type Person } from '../sfu/fixtures.ts';

async function contextAs(browser: Browser, url: string, person: Person): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const [name, value] = person.client.cookieHeader.split('=') as [string, string];
  await context.addCookies([{ name, value, url }]);
  await context.addInitScript(RECORD_PEER_CONNECTIONS);
  return context;
}

const studioState = (page: Page): Promise<string | null> => page.getByTestId('studio-state').getAttribute('data-state', PROBE);

describe("the studio's honest state when the teacher's media cannot reach the media server", () => {
  let network: StudentNetwork;
  let server: TestServer;
  let browser: Browser;
  let teacherBrowser: Browser;
  let f: ClassFixture;

  beforeAll(async () => {
    network = createStudentNetwork();
    server = await startTestServer({
      app: 'build',
      // The defaults a deployment keeps: every interface, so the namespace's side of the pair is announced.
      env: { HOST: '0.0.0.0', LECTERN_LISTEN_IP: '0.0.0.0' },
    });
    browser = await launchChromium();
    f = await createLiveClass(server);
  }, 120_000);

  afterAll(async () => {
    await teacherBrowser?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
    network?.close();
  });

  it('says the media server cannot be reached (studio and class page), turns live once media flows, and not live when it stops', async () => {
    const webPort = new URL(server.url).port;
    network.firewall([`tcp dport ${webPort} accept`, 'drop']);
    const origin = `http://${network.hostIp}:${webPort}`;
    teacherBrowser = await network.launchChromium([origin]);
    const teacher = await (await contextAs(teacherBrowser, origin, f.teacher)).newPage();
    const student = await (await contextAs(browser, server.url, f.students[0]!)).newPage();
    await student.goto(`${server.url}/classes/${f.classId}`);
    await teacher.goto(`${origin}/studio/${f.classId}`);

    // Before going live, the pre-join check already tells the teacher.
    await expect.poll(() => teacher.getByTestId('connectivity').getAttribute('data-state', PROBE), { timeout: 30_000 }).toBe('done');
    expect(await teacher.getByTestId('connectivity-udp').getAttribute('data-ok')).toBe('false');
    expect(await teacher.getByTestId('connectivity-tcp').getAttribute('data-ok')).toBe('false');
    expect(await teacher.getByTestId('connectivity-summary').textContent()).toContain('students would not see or hear you');

    await teacher.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    await expect.poll(() => studioState(teacher), { timeout: 40_000 }).toBe('blocked');
    expect(await teacher.getByTestId('studio-state').textContent()).toContain('Not reaching the media server');
    expect(await teacher.getByTestId('studio-media-problem').textContent()).toContain(
      'Cannot reach the media server over UDP or TCP: check the firewall, or configure TURN',
    );
    // The class is live and the teacher's sources are published, but no packet of them reached the server.
    const room = server.rooms.get(f.classId)!;
    expect(
      room
        .mediaSources()
        .map((s) => s.source)
        .sort(),
    ).toEqual(['camera', 'mic']);
    for (const s of room.mediaSources()) expect((await s.producer.getStats()).reduce((n, st) => n + st.packetCount, 0)).toBe(0);
    // The student is told in student words, and sees no video.
    await expect.poll(() => student.getByTestId('class-phase').getAttribute('data-phase', PROBE), { timeout: 20_000 }).toBe('live');
    await expect.poll(() => student.getByTestId('teacher-media-blocked').count(), { timeout: 20_000 }).toBe(1);
    expect(await student.getByTestId('teacher-media-blocked').textContent()).toContain('not reaching the class');
    expect((await mediaPath(student)).framesDecoded).toBe(0);
    // Still blocked a while later: the studio never claimed "live" meanwhile.
    expect(await studioState(teacher)).toBe('blocked');
    const shots = path.join(import.meta.dirname, '../../test-results');
    fs.mkdirSync(shots, { recursive: true });
    await teacher.screenshot({ path: path.join(shots, 'studio-blocked.png'), fullPage: true });

    // The firewall opens: the studio's ICE restarts get through, media flows, and it says so.
    network.firewall([]);
    await expect.poll(() => studioState(teacher), { timeout: 40_000 }).toBe('live');
    expect(await teacher.getByTestId('studio-media-problem').count()).toBe(0);
    await expect.poll(async () => (await mediaPath(student)).framesDecoded, { timeout: 40_000 }).toBeGreaterThan(10);
    await expect.poll(() => student.getByTestId('teacher-media-blocked').count(), { timeout: 20_000 }).toBe(0);

    // Mid-class, the firewall closes again: the studio stops saying "live" and says why; students are told.
    network.firewall([`tcp dport ${webPort} accept`, 'drop']);
    await expect.poll(() => studioState(teacher), { timeout: 20_000 }).not.toBe('live');
    await expect.poll(() => studioState(teacher), { timeout: 40_000 }).toBe('blocked');
    await expect.poll(() => student.getByTestId('teacher-media-blocked').count(), { timeout: 20_000 }).toBe(1);
    network.firewall([]);
    await expect.poll(() => studioState(teacher), { timeout: 40_000 }).toBe('live');
    const decoded = (await mediaPath(student)).framesDecoded;
    await expect.poll(async () => (await mediaPath(student)).framesDecoded, { timeout: 40_000 }).toBeGreaterThan(decoded + 10);
  });
});
