// Students on hard networks still get real-time video before the broadcast (HLS) is tried: a real coturn with
// time-limited credentials relays a student who may only use TURN (a symmetric NAT), a student whose UDP is
// blocked connects over TCP to the media server, and one whose firewall lets through only TCP to the web server
// and the TURN server gets the class through TURN over TCP. The blocked students run in a network namespace
// with nftables rules, in a Chromium of their own; the server keeps its default (wildcard) WebRTC address.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { turnCredential } from '../../server/net/turn-credentials.ts';
import { launchChromium } from '../helpers/browser.ts';
import { startCoturn, type Coturn } from '../helpers/coturn.ts';
import { createStudentNetwork, type StudentNetwork } from '../helpers/netns.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { FORCE_RELAY, mediaPath, RECORD_PEER_CONNECTIONS } from '../helpers/webrtc-stats.ts';
import { askOk, createLiveClass, socketFor, type ClassFixture, type Person } from '../sfu/fixtures.ts';
import type { QualityPush, StudentConnection } from '../../server/contracts/connection-quality.ts';
import type { Socket } from 'socket.io-client';
import fs from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import path from 'node:path';
import type { ConnectivityReport } from '../../app/src/lib/media/connectivity-check.ts';

async function contextAs(browser: Browser, url: string, person: Person, scripts: string[] = []): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const [name, value] = person.client.cookieHeader.split('=') as [string, string];
  await context.addCookies([{ name, value, url }]);
  for (const script of [RECORD_PEER_CONNECTIONS, ...scripts]) await context.addInitScript(script);
  return context;
}

/** Relay candidates a page gathers from this TURN server with this credential (0 when coturn refuses it). */
function relayCandidates(page: Page, server: { urls: string | string[]; username?: string; credential?: string }): Promise<number> {
  return page.evaluate(async (iceServer) => {
    const pc = new RTCPeerConnection({ iceServers: [iceServer], iceTransportPolicy: 'relay' });
    pc.createDataChannel('probe');
    let relays = 0;
    const done = new Promise<void>((resolve) => {
      pc.onicecandidate = (e) => {
        if (!e.candidate) return resolve();
        if (e.candidate.type === 'relay') relays++;
      };
      setTimeout(resolve, 10_000);
    });
    await pc.setLocalDescription(await pc.createOffer());
    await done;
    pc.close();
    return relays;
  }, server);
}

/** The app's pre-join check, run in `page` against the server through `socket` (that student's connection). */
async function connectivityCheck(page: Page, socket: Socket): Promise<ConnectivityReport> {
  const source = fs.readFileSync(path.join(import.meta.dirname, '../../app/src/lib/media/connectivity-check.ts'), 'utf8');
  if (!(await page.evaluate(() => 'checkConnectivity' in window))) {
    await page.exposeFunction('__ask', (event: string, payload: unknown) => askOk(socket, event, payload));
    // Evaluated through the DevTools protocol, not added as an inline <script>: every answer's CSP forbids those.
    await page.evaluate(`${stripTypeScriptTypes(source).replace(/^export /gm, '')}\nwindow.checkConnectivity = checkConnectivity;`);
    await page.waitForFunction(() => 'checkConnectivity' in window);
  }
  return page.evaluate(() => {
    const w = window as unknown as {
      checkConnectivity(ask: unknown, o: unknown): Promise<ConnectivityReport>;
      __ask(e: string, p: unknown): Promise<unknown>;
    };
    return w.checkConnectivity((e: string, p: unknown) => w.__ask(e, p), { timeoutMs: 6000 });
  });
}

async function watchesOverWebRtc(page: Page): Promise<void> {
  await expect.poll(async () => (await mediaPath(page)).framesDecoded, { timeout: 40_000 }).toBeGreaterThan(20);
  const before = (await mediaPath(page)).framesDecoded;
  await expect.poll(async () => (await mediaPath(page)).framesDecoded, { timeout: 15_000 }).toBeGreaterThan(before + 20);
  expect(await page.getByTestId('hls-live').count()).toBe(0);
  expect(await page.getByTestId('hls-fallback').count()).toBe(0);
}

describe('TURN and TCP: WebRTC before HLS on hard networks', () => {
  let network: StudentNetwork;
  let coturn: Coturn;
  let server: TestServer;
  let browser: Browser;
  let nsBrowser: Browser | undefined;
  let f: ClassFixture;
  let teacherPage: Page;
  let turnUrl: string;
  /** The teacher's view of every student's connection (server-side statistics), and what a student got. */
  let staff: Socket;
  let classmate: Socket;
  let latest: QualityPush | undefined;
  let pushesToStaff = 0;
  let pushesToStudent = 0;
  const connectionOf = (person: Person): StudentConnection | undefined => latest?.students.find((s) => s.userId === person.user.id);

  beforeAll(async () => {
    network = createStudentNetwork();
    coturn = await startCoturn({ listenIps: ['127.0.0.1', network.hostIp] });
    turnUrl = `turn:${network.hostIp}:${coturn.port}`;
    server = await startTestServer({
      app: 'build',
      env: {
        // The defaults a deployment keeps: every interface, so the namespace's side of the pair is announced.
        HOST: '0.0.0.0',
        LECTERN_LISTEN_IP: '0.0.0.0',
        LECTERN_TURN_URLS: `${turnUrl}?transport=udp,${turnUrl}?transport=tcp`,
        LECTERN_TURN_SECRET: coturn.secret,
      },
    });
    browser = await launchChromium();
    f = await createLiveClass(server, { students: 4 });
    teacherPage = await (await contextAs(browser, server.url, f.teacher)).newPage();
    await teacherPage.goto(`${server.url}/studio/${f.classId}`);
    await teacherPage.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    await teacherPage.locator('[data-testid="studio-state"][data-state="live"]').waitFor({ timeout: 30_000 });
    staff = await socketFor(server, f.teacher);
    staff.on('quality:update', (push: QualityPush) => {
      pushesToStaff++;
      latest = push;
    });
    await askOk(staff, 'class:join', { classId: f.classId });
    classmate = await socketFor(server, f.students[3]!);
    classmate.on('quality:update', () => pushesToStudent++);
    await askOk(classmate, 'class:join', { classId: f.classId });
  }, 180_000);

  afterAll(async () => {
    staff?.close();
    classmate?.close();
    await nsBrowser?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await server?.stop();
    await coturn?.stop();
    network?.close();
  });

  it('hands each user their own expiring TURN credential, which coturn accepts until it expires', async () => {
    const page = await (await contextAs(browser, server.url, f.students[0]!)).newPage();
    await page.goto(`${server.url}/classes/${f.classId}`);
    await expect.poll(async () => (await mediaPath(page)).framesDecoded, { timeout: 40_000 }).toBeGreaterThan(0);
    const handed = await page.evaluate(() =>
      (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs.flatMap((pc) => pc.getConfiguration().iceServers ?? []),
    );
    const turn = handed.find((s) => String(s.urls).includes(turnUrl));
    const [expiry, userId] = String(turn?.username).split(':');
    expect(userId).toBe(f.students[0]!.user.id);
    expect(Number(expiry) * 1000).toBeGreaterThan(Date.now() + 23 * 3600_000); // the default lifetime: a day
    expect(await relayCandidates(page, turn!)).toBeGreaterThan(0);
    const options = { urls: [`${turnUrl}?transport=udp`], secret: coturn.secret, ttlSeconds: 60 };
    const expired = turnCredential(options, f.students[0]!.user.id, Date.now() - 120_000);
    expect(await relayCandidates(page, expired)).toBe(0);
    expect(await relayCandidates(page, { ...turnCredential(options, 'someone'), credential: 'forged' })).toBe(0);
    // The teacher sees this student's connection from the server's statistics: UDP, RTT, loss, the layer received.
    await expect.poll(() => connectionOf(f.students[0]!)?.via, { timeout: 20_000 }).toBe('udp');
    await expect.poll(() => connectionOf(f.students[0]!)?.kbps ?? 0, { timeout: 20_000 }).toBeGreaterThan(50);
    const seen = connectionOf(f.students[0]!)!;
    expect(seen).toMatchObject({ mode: 'webrtc', displayName: 'Student 1' });
    expect(seen.rttMs).toBeGreaterThanOrEqual(0);
    expect(seen.lossPct).toBeGreaterThanOrEqual(0);
    expect(seen.layer?.of).toBe(3);
    expect(connectionOf(f.students[3]!)?.mode).toBe('waiting'); // joined the class, no media session
    // Only the staff get it.
    await expect.poll(() => pushesToStaff, { timeout: 15_000 }).toBeGreaterThan(1); // the figures may come with the first push
    expect(pushesToStudent).toBe(0);
    await page.context().close();
  });

  it('a student who may only use a TURN relay (symmetric NAT) decodes the video through coturn', async () => {
    const page = await (await contextAs(browser, server.url, f.students[0]!, [FORCE_RELAY])).newPage();
    await page.goto(`${server.url}/classes/${f.classId}`);
    await watchesOverWebRtc(page);
    const path = await mediaPath(page);
    expect(path.local?.candidateType).toBe('relay');
    expect(path.remote?.candidateType).toBe('host');
    await expect.poll(() => connectionOf(f.students[0]!)?.via, { timeout: 20_000 }).toBe('relay');
    await page.context().close();
  });

  it('a student whose UDP is blocked connects over TCP to the media server, not HLS', async () => {
    network.firewall(['meta l4proto udp drop']);
    const nsOrigin = `http://${network.hostIp}:${new URL(server.url).port}`;
    nsBrowser = await network.launchChromium([nsOrigin]);
    const page = await (await contextAs(nsBrowser, nsOrigin, f.students[1]!)).newPage();
    await page.goto(`${nsOrigin}/classes/${f.classId}`);
    await watchesOverWebRtc(page);
    const path = await mediaPath(page);
    expect(path.remote).toMatchObject({ protocol: 'tcp', candidateType: 'host', address: network.hostIp });
    // Chrome's active TCP candidate shows as host or peer-reflexive; never a relay here.
    expect(['host', 'prflx']).toContain(path.local?.candidateType);
    await expect.poll(() => connectionOf(f.students[1]!)?.via, { timeout: 20_000 }).toBe('tcp');
    await page.context().close();
  });

  it('a student allowed only TCP to the web server and the TURN server gets the class through TURN over TCP', async () => {
    const webPort = new URL(server.url).port;
    network.firewall([`tcp dport { ${webPort}, ${coturn.port} } accept`, 'drop']);
    const nsOrigin = `http://${network.hostIp}:${webPort}`;
    nsBrowser ??= await network.launchChromium([nsOrigin]);
    const page = await (await contextAs(nsBrowser, nsOrigin, f.students[2]!)).newPage();
    await page.goto(`${nsOrigin}/classes/${f.classId}`);
    await watchesOverWebRtc(page);
    const path = await mediaPath(page);
    expect(path.local).toMatchObject({ candidateType: 'relay', relayProtocol: 'tcp' });
    await expect.poll(() => connectionOf(f.students[2]!)?.via, { timeout: 20_000 }).toBe('relay');
    await page.context().close();
  });

  it('pre-join check: UDP, TCP and the relay all answer on an open network, with round-trip times', async () => {
    const socket = await socketFor(server, f.students[0]!);
    try {
      const page = await (await contextAs(browser, server.url, f.students[0]!)).newPage();
      await page.goto(`${server.url}/health`);
      const report = await connectivityCheck(page, socket);
      expect(report.udp).toMatchObject({ ok: true });
      expect(report.tcp).toMatchObject({ ok: true });
      expect(report.turn).toMatchObject({ ok: true, relayProtocol: 'udp' });
      for (const p of [report.udp, report.tcp, report.turn]) expect(p.rttMs).toBeGreaterThanOrEqual(0);
      expect(report.best).toBe('udp');
      expect(report.summary).toMatch(/ready for live classes/);
      await page.context().close();
      // Probes are bounded per connection and close after use: a fourth at once is refused, then all free.
      const taken = await Promise.all([1, 2, 3].map(() => askOk(socket, 'net:probe', {})));
      await expect(askOk(socket, 'net:probe', {})).rejects.toThrow(/At most 3 probes/);
      for (const t of taken) await askOk(socket, 'net:probeClose', { probeId: t.probeId });
    } finally {
      socket.close();
    }
  });

  it('pre-join check behind firewalls: UDP blocked -> TCP; only web and TURN ports open -> the relay', async () => {
    const socket = await socketFor(server, f.students[1]!);
    const nsOrigin = `http://${network.hostIp}:${new URL(server.url).port}`;
    nsBrowser ??= await network.launchChromium([nsOrigin]);
    const page = await (await contextAs(nsBrowser, nsOrigin, f.students[1]!)).newPage();
    try {
      await page.goto(`${nsOrigin}/health`);
      network.firewall(['meta l4proto udp drop']);
      const udpBlocked = await connectivityCheck(page, socket);
      expect(udpBlocked.udp.ok).toBe(false);
      expect(udpBlocked.tcp.ok).toBe(true);
      expect(udpBlocked.turn).toMatchObject({ ok: true, relayProtocol: 'tcp' });
      expect(udpBlocked.best).toBe('tcp');
      expect(udpBlocked.summary).toMatch(/blocks UDP/);
      network.firewall([`tcp dport { ${new URL(server.url).port}, ${coturn.port} } accept`, 'drop']);
      const onlyRelay = await connectivityCheck(page, socket);
      expect(onlyRelay.udp.ok).toBe(false);
      expect(onlyRelay.tcp.ok).toBe(false);
      expect(onlyRelay.tcp.reason).toMatch(/cannot be reached over TCP/);
      expect(onlyRelay.turn).toMatchObject({ ok: true, relayProtocol: 'tcp' });
      expect(onlyRelay.best).toBe('turn');
    } finally {
      await page.context().close();
      socket.close();
    }
  });
});
