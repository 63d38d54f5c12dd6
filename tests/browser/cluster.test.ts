// Three Lectern nodes on loopback sharing PostgreSQL and Redis. The teacher's studio (Chromium) publishes on
// node 1, which becomes the class's origin; students whose pages are served by nodes 2 and 3 decode the
// teacher's video through edge rooms there, fed from node 1 over mediasoup pipe transports. Chat, polls and
// presence agree on every node, and the class's status too: ended on node 1, it is ended on nodes 2 and 3.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClassStatusPush, PresencePush } from '../../server/contracts/live-class.ts';
import type { ChatMessage, Poll, PollResults } from '../../server/contracts/interaction.ts';
import { contextAs, launchChromium, teacherVideoFrames } from '../helpers/browser.ts';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { startProcessCluster, type ProcessCluster } from '../helpers/process-pair.ts';
import { connectAs, errorOf, joinAs, nextEvent, ok, record } from '../helpers/socket-client.ts';
import { insertClass } from '../helpers/live-class.ts';

let cluster: ProcessCluster;
let browser: Browser;
let teacher: RegisteredUser;
let students: RegisteredUser[];
let classId: string;
const sockets: Socket[] = [];
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [cluster, browser] = await Promise.all([
    startProcessCluster('cluster', 3, { LECTERN_TEST_APP: 'build', LOG_LEVEL: 'info' }),
    launchChromium(),
  ]);
  const [node1] = cluster.nodes;
  teacher = await registerUser(node1!.url, 'teacher', 'Teacher on node 1');
  students = [
    await registerUser(node1!.url, 'student', 'Student on node 2'),
    await registerUser(node1!.url, 'student', 'Student on node 3'),
  ];
  // Scheduled for now: the teacher goes live from the studio.
  ({ classId } = await insertClass(cluster.database.db, {
    teacherId: teacher.user.id,
    studentIds: students.map((s) => s.user.id),
    title: 'A class across three nodes',
    courseTitle: 'Clusters',
    live: false,
  }));
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await Promise.all(contexts.map((c) => c.close()));
  await browser?.close();
  await cluster?.stop();
});

async function pageOf(person: RegisteredUser, nodeUrl: string, path: string): Promise<Page> {
  const context = await contextAs(browser, nodeUrl, person, { viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${nodeUrl}${path}`);
  return page;
}

describe('a class across three nodes', () => {
  it('students on nodes 2 and 3 decode the teacher publishing on node 1; chat, polls and presence agree on every node', async () => {
    const [node1, node2, node3] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    // The teacher watches the class from every node (staff see the viewer list).
    const watchers = await Promise.all(cluster.nodes.map((n) => joinAs(n.url, teacher, classId)));
    sockets.push(...watchers);
    const presence = watchers.map((w) => record<PresencePush>(w, 'presence:update'));

    const studio = await pageOf(teacher, node1.url, `/studio/${classId}`);
    await studio.getByRole('button', { name: 'Go live' }).click({ timeout: 30_000 });
    await expect.poll(() => studio.getByTestId('studio-state').getAttribute('data-state'), { timeout: 30_000 }).toBe('live');
    await node1.waitForLog((l) => l.msg === 'classroom room opened' && l.classId === classId && l.fedFrom === undefined);

    const onNode2 = await pageOf(students[0]!, node2.url, `/classes/${classId}`);
    const onNode3 = await pageOf(students[1]!, node3.url, `/classes/${classId}`);
    // Each student's node made an edge room fed from node 1, and the student decodes the teacher through it.
    for (const node of [node2, node3]) {
      const fed = await node.waitForLog((l) => l.msg === 'edge room fed from the origin node' && l.classId === classId, 30_000);
      expect(fed.origin).toBe('node-1');
    }
    await expect.poll(() => teacherVideoFrames(onNode2), { timeout: 30_000 }).toBeGreaterThan(10);
    await expect.poll(() => teacherVideoFrames(onNode3), { timeout: 30_000 }).toBeGreaterThan(10);
    const before = [await teacherVideoFrames(onNode2), await teacherVideoFrames(onNode3)];
    await expect.poll(() => teacherVideoFrames(onNode2), { timeout: 15_000 }).toBeGreaterThan(before[0]! + 20);
    await expect.poll(() => teacherVideoFrames(onNode3), { timeout: 15_000 }).toBeGreaterThan(before[1]! + 20);

    // Presence: every node tells the same list (the teacher, both students on WebRTC) and count.
    const viewersSeen = (i: number): string[] =>
      (presence[i]!.at(-1)?.viewers ?? []).map((v) => `${v.displayName}:${v.role}:${v.mode}`).sort();
    const expected = ['Student on node 2:student:webrtc', 'Student on node 3:student:webrtc', 'Teacher on node 1:teacher:webrtc'];
    for (let i = 0; i < 3; i++) {
      await expect.poll(() => viewersSeen(i), { timeout: 15_000 }).toEqual(expect.arrayContaining(expected));
      expect(presence[i]!.at(-1)!.studentCount).toBe(2);
    }

    // Chat from a student on node 3 reaches the watchers on every node.
    const studentOn3 = await joinAs(node3.url, students[1]!, classId);
    sockets.push(studentOn3);
    const chats = watchers.map((w) => nextEvent<ChatMessage[]>(w, 'chat:messages', (m) => m.some((c) => c.body === 'hello from node 3')));
    await ok(studentOn3, 'chat:send', { body: 'hello from node 3' });
    await Promise.all(chats);

    // A poll opened on node 1 reaches node 3's student, whose vote is counted for the staff on every node.
    const polls = watchers.map((w) => record<PollResults>(w, 'poll:results'));
    const pollSeen = nextEvent<Poll>(studentOn3, 'poll:updated', (p) => p.question === 'Which node?');
    const poll = await ok<Poll>(watchers[0]!, 'poll:create', { question: 'Which node?', options: [{ label: 'One' }, { label: 'Three' }] });
    await pollSeen;
    await ok(studentOn3, 'poll:vote', { pollId: poll.id, optionIds: [poll.options[1]!.id] });
    for (const seen of polls) await expect.poll(() => seen.at(-1)?.counts[poll.options[1]!.id], { timeout: 10_000 }).toBe(1);

    // The teacher ends the class on node 1: nodes 2 and 3 say so too, to anyone who asks now.
    await ok(watchers[0]!, 'class:end', {});
    for (const node of [node2, node3]) {
      const late = await connectAs(node.url, students[0]!);
      sockets.push(late);
      const status = nextEvent<ClassStatusPush>(late, 'class:status', () => true, 5000);
      await ok(late, 'class:join', { classId });
      expect((await status).status).toBe('ended');
      expect((await errorOf(late, 'sfu:getRouterRtpCapabilities', {})).code).toBe('not_live');
    }
  }, 240_000);
});
