// `npm run cluster` (scripts/cluster.ts): three nodes behind nginx, everyone reaching the product through nginx,
// which routes each person by their session cookie. A node killed with SIGKILL: its students' pages reconnect
// through nginx to another node and decode the teacher again. The class's origin killed: the teacher's studio
// reconnects, publishes on its new node (the new origin), and the students follow.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextAs, launchChromium, teacherVideoFrames } from '../helpers/browser.ts';
import { freePort } from '../helpers/coturn.ts';
import { createScratchDatabase } from '../helpers/databases.ts';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { insertClass } from '../helpers/live-class.ts';
import { sharedMailCatcher } from '../helpers/mail-catcher.ts';
import { REDIS_PREFIX, REDIS_URL, requireRedis } from '../helpers/redis.ts';
import { openDatabase, type DatabaseHandle } from '../../server/db/client.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface RunningCluster {
  url: string;
  nodes: { name: string; port: number; pid: number }[];
}

let child: ChildProcess;
let cluster: RunningCluster;
let scratch: { url: string; drop(): Promise<void> };
let database: DatabaseHandle;
let dataDir: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  await requireRedis();
  scratch = await createScratchDatabase();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-cluster-'));
  const port = await freePort();
  const nodePort = await freePort();
  child = spawn(
    process.execPath,
    ['scripts/cluster.ts', '3', '--port', String(port), '--node-port', String(nodePort), '--rtc-port', '0', '--data', dataDir],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: scratch.url,
        REDIS_URL,
        LECTERN_REDIS_PREFIX: REDIS_PREFIX,
        LECTERN_LISTEN_IP: '127.0.0.1',
        LECTERN_REGISTRATIONS_PER_HOUR: '1000000',
        LECTERN_SMTP_URL: (await sharedMailCatcher()).url,
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  cluster = await new Promise<RunningCluster>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`npm run cluster exited with ${code} before serving`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{"url"')) resolve(JSON.parse(line) as RunningCluster);
    });
  });
  database = await openDatabase({ url: scratch.url, pgliteDir: path.join(dataDir, 'unused') });
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  await browser?.close();
  await database?.close();
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT'); // as Ctrl-C: the script stops every node and nginx
    await exited;
  }
  await scratch?.drop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

/** The node nginx sends this person's requests to (it routes by their session cookie). */
async function nodeOf(person: RegisteredUser): Promise<string> {
  const res = await fetch(`${cluster.url}/health/live`, { headers: { cookie: person.client.cookieHeader } });
  return res.headers.get('x-lectern-node') ?? 'none';
}

async function pageOf(person: RegisteredUser, pathname: string): Promise<Page> {
  const context = await contextAs(browser, cluster.url, person, { viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${cluster.url}${pathname}`);
  return page;
}

/** The node that answers the page now (the one its socket reconnected through). */
const pageNode = (page: Page): Promise<string | null> =>
  page.evaluate(() => fetch('/health/live').then((r) => r.headers.get('x-lectern-node'))).catch(() => null);

function kill(name: string): void {
  const node = cluster.nodes.find((n) => n.name === name)!;
  process.kill(node.pid, 'SIGKILL');
}

describe('npm run cluster: nodes dying under a live class', () => {
  it('moves the students of a killed node, and recovers the class when its origin is killed', async () => {
    const teacher = await registerUser(cluster.url, 'teacher', 'Teacher');
    const origin = await nodeOf(teacher);
    // A student whom nginx sends to another node than the teacher's (the session cookie decides).
    let student: RegisteredUser | undefined;
    for (let i = 0; i < 12 && !student; i++) {
      const candidate = await registerUser(cluster.url, 'student', `Student ${i}`);
      if ((await nodeOf(candidate)) !== origin) student = candidate;
    }
    expect(student).toBeDefined();
    const edge = await nodeOf(student!);
    const { classId } = await insertClass(database.db, {
      teacherId: teacher.user.id,
      studentIds: [student!.user.id],
      title: 'A class that loses nodes',
      courseTitle: 'Failover',
      live: false,
    });

    const studio = await pageOf(teacher, `/studio/${classId}`);
    await studio.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    await expect.poll(() => studio.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');
    const watching = await pageOf(student!, `/classes/${classId}`);
    await expect.poll(() => teacherVideoFrames(watching), { timeout: 30_000 }).toBeGreaterThan(10);
    expect(await pageNode(watching)).toBe(edge);

    // The student's node dies: the page reconnects through nginx to another node and decodes again.
    kill(edge);
    const killedAt = Date.now();
    await expect.poll(() => pageNode(watching), { timeout: 15_000 }).not.toBe(edge);
    const afterMove = await teacherVideoFrames(watching);
    await expect.poll(() => teacherVideoFrames(watching), { timeout: 20_000 }).toBeGreaterThan(afterMove + 20);
    console.info(`student decoding again ${Date.now() - killedAt} ms after their node was killed`);

    // The origin dies: the studio reconnects to a node still alive and publishes there; the student follows.
    kill(origin);
    await expect.poll(() => pageNode(studio), { timeout: 20_000 }).not.toBe(origin);
    await expect.poll(() => studio.getByTestId('studio-state').getAttribute('data-state'), { timeout: 60_000 }).toBe('live');
    const afterOrigin = await teacherVideoFrames(watching);
    await expect.poll(() => teacherVideoFrames(watching), { timeout: 60_000 }).toBeGreaterThan(afterOrigin + 20);
  }, 300_000);
});
