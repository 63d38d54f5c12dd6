// The pre-join check and the studio's per-student connections, in Chromium with a fake camera and microphone
// (the fake microphone beeps): a student previews camera and microphone (the picture plays, the level meter
// moves) and sees the connectivity results in plain words, as the teacher does in the studio; once live, the
// studio's viewer list shows each student's transport and figures from the server's statistics; the class
// page's "Low bandwidth (HLS)" switch sits on one line with its label.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, PROBE } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { mediaPath, RECORD_PEER_CONNECTIONS } from '../helpers/webrtc-stats.ts';
import { createLiveClass, type ClassFixture, type Person } from '../sfu/fixtures.ts';

async function contextFor(browser: Browser, server: TestServer, person: Person): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const [name, value] = person.client.cookieHeader.split('=') as [string, string];
  await context.addCookies([{ name, value, url: server.url }]);
  await context.addInitScript(RECORD_PEER_CONNECTIONS);
  return context;
}

const frames = (page: Page, testid: string): Promise<number> =>
  page
    .getByTestId(testid)
    .first()
    .evaluate((v) => Number((v as HTMLVideoElement).dataset.frames ?? 0), undefined, PROBE);

/** The level meter's readings over about two seconds (the fake microphone beeps about once a second). */
async function levels(page: Page, label: string): Promise<number[]> {
  const meter = page.getByRole('meter', { name: label });
  const out: number[] = [];
  for (let i = 0; i < 20; i++) {
    out.push(Number(await meter.getAttribute('aria-valuenow', PROBE)));
    await page.waitForTimeout(100);
  }
  return out;
}

describe('pre-join check and per-student quality', () => {
  let server: TestServer;
  let browser: Browser;
  let f: ClassFixture;
  beforeAll(async () => {
    [server, browser] = await Promise.all([startTestServer({ app: 'build' }), launchChromium()]);
    f = await createLiveClass(server, { students: 2 });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('student and teacher check camera, microphone and connection; the studio lists each student’s connection', async () => {
    const student = await (await contextFor(browser, server, f.students[0]!)).newPage();
    await student.goto(`${server.url}/classes/${f.classId}`);

    // Before the class: the check is open; the camera plays, the microphone's meter moves with the beeps.
    const check = student.getByTestId('prejoin-check');
    expect(await check.getAttribute('open')).not.toBeNull();
    await check.getByRole('button', { name: 'Test camera and microphone' }).click();
    await expect.poll(() => frames(student, 'device-check-video'), { timeout: 15_000 }).toBeGreaterThan(5);
    await expect.poll(async () => Math.max(...(await levels(student, "Your microphone's level"))), { timeout: 15_000 }).toBeGreaterThan(30);
    const readings = await levels(student, "Your microphone's level");
    expect(new Set(readings).size).toBeGreaterThan(3);
    // The connection test, in plain words: UDP works here (same machine), with a round trip.
    await expect.poll(() => check.getByTestId('connectivity').getAttribute('data-state', PROBE), { timeout: 30_000 }).toBe('done');
    expect(await check.getByTestId('connectivity-udp').getAttribute('data-ok')).toBe('true');
    expect(await check.getByTestId('connectivity-udp').textContent()).toMatch(/works · round trip \d+ ms/);
    expect(await check.getByTestId('connectivity-tcp').getAttribute('data-ok')).toBe('true');
    expect(await check.getByTestId('connectivity-turn').textContent()).toContain('No relay server is configured');
    expect(await check.getByTestId('connectivity-summary').textContent()).toContain('Your connection is ready for live classes');
    await check.getByRole('button', { name: 'Stop the test' }).click();
    expect(await student.getByTestId('device-check-video').count()).toBe(0);

    // The teacher's studio: preview with a level meter, and the same check run by itself.
    const teacher = await (await contextFor(browser, server, f.teacher)).newPage();
    await teacher.goto(`${server.url}/studio/${f.classId}`);
    await expect.poll(() => frames(teacher, 'camera-preview'), { timeout: 15_000 }).toBeGreaterThan(5);
    await expect.poll(async () => Math.max(...(await levels(teacher, 'Microphone level'))), { timeout: 15_000 }).toBeGreaterThan(30);
    const studioCheck = teacher.getByTestId('prejoin-check');
    await expect.poll(() => studioCheck.getByTestId('connectivity').getAttribute('data-state', PROBE), { timeout: 30_000 }).toBe('done');
    expect(await studioCheck.getByTestId('connectivity').getAttribute('data-best')).toBe('udp');
    expect(await studioCheck.getByTestId('connectivity-summary').textContent()).toContain('ready for live classes');

    // Live: the student decodes the teacher over WebRTC; a second student chose the broadcast (HLS).
    await teacher.getByRole('button', { name: 'Go live' }).click();
    await expect.poll(() => teacher.getByTestId('studio-state').getAttribute('data-state', PROBE), { timeout: 30_000 }).toBe('live');
    await expect.poll(async () => (await mediaPath(student)).framesDecoded, { timeout: 30_000 }).toBeGreaterThan(10);
    const hlsStudent = await (await contextFor(browser, server, f.students[1]!)).newPage();
    await hlsStudent.goto(`${server.url}/classes/${f.classId}?mode=hls`);

    // The studio's viewer list: each student's transport and the server's figures, refreshed every few seconds.
    const row = (name: string) => teacher.getByTestId('viewer-list').locator('li', { hasText: name }).getByTestId('viewer-connection');
    await expect.poll(() => row('Student 1').getAttribute('data-via', PROBE), { timeout: 30_000 }).toBe('udp');
    await expect.poll(() => row('Student 1').getByTestId('viewer-layer').count(), { timeout: 20_000 }).toBe(1);
    expect(await row('Student 1').getAttribute('data-mode')).toBe('webrtc');
    expect(await row('Student 1').textContent()).toContain('WebRTC · UDP');
    expect(await row('Student 1').getByTestId('viewer-rtt').textContent()).toMatch(/^\d+ ms$/);
    expect(await row('Student 1').getByTestId('viewer-loss').textContent()).toMatch(/^\d+\.\d % loss$/);
    expect(await row('Student 1').getByTestId('viewer-layer').textContent()).toMatch(/^(layer [1-3]\/3|no video yet)$/);
    await expect.poll(() => row('Student 2').getAttribute('data-mode', PROBE), { timeout: 30_000 }).toBe('hls');
    expect(await row('Student 2').textContent()).toContain('HLS stream');
    // Refreshed: the next push (every 5 s) replaces the figures.
    const at = await teacher.getByTestId('viewer-list').getAttribute('data-quality-at');
    expect(Date.parse(at ?? '')).toBeGreaterThan(0);
    await expect.poll(() => teacher.getByTestId('viewer-list').getAttribute('data-quality-at', PROBE), { timeout: 20_000 }).not.toBe(at);

    // The "Low bandwidth (HLS)" switch: the box and its words on one line, the box first.
    const toggle = student.locator('label.low-bandwidth');
    const box = await student.getByTestId('prefer-hls').boundingBox();
    const label = await toggle.boundingBox();
    expect(box && label).toBeTruthy();
    expect(box!.width).toBeLessThan(30);
    expect(label!.height).toBeLessThan(box!.height * 2);
    expect(Math.abs(box!.x - label!.x)).toBeLessThan(4);
    expect(label!.width).toBeLessThan(400);
    const shots = path.join(import.meta.dirname, '../../test-results');
    fs.mkdirSync(shots, { recursive: true });
    await student.evaluate(() => window.scrollTo(0, 0));
    await student.screenshot({ path: path.join(shots, 'class-page-low-bandwidth.png') });
    await teacher.screenshot({ path: path.join(shots, 'studio-viewers.png'), fullPage: true });
  });
});
