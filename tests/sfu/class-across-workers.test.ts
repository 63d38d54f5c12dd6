// One class across both workers of the machine: with a small measured capacity (one student per worker),
// the first student is seated on the class's origin router, the next on a router of the other worker fed by
// pipeToRouter, and both decode the teacher's camera in Chromium, each from its own worker's WebRtcServer
// port. The machine is then full: the third student watches over HLS and the page says why. Ending the class
// closes every router it had, the piped one too.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextAs, launchChromium, teacherVideoFrames } from '../helpers/browser.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { mediaPath, RECORD_PEER_CONNECTIONS } from '../helpers/webrtc-stats.ts';
import { createLiveClass, type Person } from './fixtures.ts';
import type { Browser } from 'playwright-core';

describe('a class spread over the workers of a machine', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    [server, browser] = await Promise.all([
      // Two consumers per worker: one student (camera + mic) per worker.
      startTestServer({ app: 'build', env: { LECTERN_WORKERS: '2', LECTERN_CONSUMERS_PER_WORKER: '2' } }),
      launchChromium(),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  const pageFor = async (person: Person): Promise<Page> => {
    const context = await contextAs(browser, server.url, person, { viewport: { width: 1000, height: 700 } });
    await context.addInitScript(RECORD_PEER_CONNECTIONS);
    return context.newPage();
  };

  it('seats students on both workers, all decoding the teacher; then HLS with the reason; the routers close with the class', async () => {
    const f = await createLiveClass(server, { students: 3 });
    const teacher = await pageFor(f.teacher);
    await teacher.goto(`${server.url}/studio/${f.classId}`);
    await teacher.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    await expect.poll(() => teacher.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');
    const room = server.rooms.get(f.classId)!;
    expect(room.routerLoad()).toHaveLength(1);

    const students: Page[] = [];
    for (const person of f.students.slice(0, 2)) {
      const page = await pageFor(person);
      await page.goto(`${server.url}/classes/${f.classId}`);
      await expect.poll(() => teacherVideoFrames(page), { timeout: 30_000 }).toBeGreaterThan(10);
      students.push(page);
    }
    // Two routers of this class, one student seated on each, on different workers.
    const load = room.routerLoad();
    expect(load.map((r) => r.seats)).toEqual([1, 1]);
    expect(new Set(load.map((r) => r.workerIndex)).size).toBe(2);
    // Each student's media comes from a different worker's WebRtcServer port, and keeps decoding.
    const ports = await Promise.all(students.map(async (p) => (await mediaPath(p)).remote?.port));
    expect(new Set(ports).size).toBe(2);
    for (const port of ports) expect(server.workers.rtcPorts).toContain(port);
    for (const page of students) {
      const before = await teacherVideoFrames(page);
      await expect.poll(() => teacherVideoFrames(page), { timeout: 15_000 }).toBeGreaterThan(before + 15);
    }

    // Both workers are full: the third student watches the broadcast and is told why.
    const late = await pageFor(f.students[2]!);
    await late.goto(`${server.url}/classes/${f.classId}`);
    const notice = late.getByTestId('hls-fallback-notice');
    await expect.poll(() => notice.count(), { timeout: 30_000 }).toBe(1);
    expect(await notice.getAttribute('data-cause')).toBe('cap');
    expect(await notice.textContent()).toMatch(/real-time capacity is taken \(2 students over 2 media workers\)/);
    expect(await late.getByTestId('teacher-video').count()).toBe(0);

    // The class ends: every router it had is gone from both workers.
    const routerIds = load.map((r) => r.routerId);
    await teacher.getByRole('button', { name: 'End class' }).click();
    await teacher.getByRole('button', { name: 'Yes, end class' }).click();
    await expect.poll(() => server.rooms.get(f.classId), { timeout: 15_000 }).toBeUndefined();
    const left = await Promise.all(server.workers.all().map(async (w) => (await w.worker.dump()).routerIds));
    expect(left.flat().filter((id) => routerIds.includes(id))).toEqual([]);
    expect(server.workers.all().map((w) => w.seats)).toEqual([0, 0]);
    await Promise.all([teacher, ...students, late].map((p) => p.context().close()));
  });
});
