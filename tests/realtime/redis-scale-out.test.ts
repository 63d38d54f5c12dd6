// Two server processes sharing PostgreSQL and Redis: a class's events cross from one to the other through
// the Socket.io Redis adapter (chat, role-specific Q&A views, and a removal that disconnects a socket held by
// the other process).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, Question } from '../../server/contracts/interaction.ts';
import { openDatabase, type DatabaseHandle } from '../../server/db/client.ts';
import { createScratchDatabase } from '../helpers/databases.ts';
import { registerUser } from '../helpers/http-client.ts';
import { createLiveClass, errorOf, joinAs, nextEvent, ok, type Person } from './class-fixture.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface ServerProcess {
  url: string;
  child: ChildProcess;
}

async function startProcess(databaseUrl: string, dataDir: string): Promise<ServerProcess> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, '../helpers/lectern-process.ts')], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      LECTERN_DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      LECTERN_WORKERS: '1',
      LECTERN_LISTEN_IP: '127.0.0.1',
      LECTERN_RTC_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server process exited with ${code} before listening`)));
    lines.on('line', (line) => {
      try {
        resolve(JSON.parse(line).url);
      } catch {
        /* a log line */
      }
    });
  });
  return { url, child };
}

async function stopProcess(p: ServerProcess | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null) return;
  const exited = new Promise((resolve) => p.child.once('exit', resolve));
  p.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  if (p.child.exitCode === null) p.child.kill('SIGKILL');
}

describe('two server processes with the Redis adapter', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let a: ServerProcess;
  let b: ServerProcess;
  let database: DatabaseHandle;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-scale-'));
  const sockets: Socket[] = [];
  let teacher: Person;
  let alice: Person;
  let bob: Person;
  let classId: string;

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    a = await startProcess(scratch.url, path.join(dataDir, 'a')); // migrates the database first
    b = await startProcess(scratch.url, path.join(dataDir, 'b'));
    database = await openDatabase({ url: scratch.url, pgliteDir: path.join(dataDir, 'unused') });
    teacher = await registerUser(a.url, 'teacher', 'Teacher on B');
    alice = await registerUser(a.url, 'student', 'Alice on A');
    bob = await registerUser(b.url, 'student', 'Bob on B');
    classId = await createLiveClass(database.db, teacher, [alice, bob]);
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await database?.close();
    await Promise.all([stopProcess(a), stopProcess(b)]);
    await scratch?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('carries chat, Q&A and a removal from one process to the clients of the other', async () => {
    expect(a.url).not.toBe(b.url);
    const onA = await joinAs(a.url, alice, classId);
    const bobOnB = await joinAs(b.url, bob, classId);
    const teacherOnB = await joinAs(b.url, teacher, classId);
    sockets.push(onA, bobOnB, teacherOnB);

    // Chat sent through A reaches both clients of B.
    const toBob = nextEvent<ChatMessage>(bobOnB, 'chat:message', (m) => m.body === 'hello from A');
    const toTeacher = nextEvent<ChatMessage>(teacherOnB, 'chat:message', (m) => m.body === 'hello from A');
    const sent = await ok<ChatMessage>(onA, 'chat:send', { body: 'hello from A' });
    expect((await toBob).id).toBe(sent.id);
    expect((await toTeacher).author.displayName).toBe('Alice on A');
    // And back: B to A.
    const toAlice = nextEvent<ChatMessage>(onA, 'chat:message', (m) => m.body === 'hello from B');
    await ok(bobOnB, 'chat:send', { body: 'hello from B' });
    expect((await toAlice).author.displayName).toBe('Bob on B');

    // An anonymous question asked on A: the teacher on B sees who asked, Bob on B does not.
    const teacherView = nextEvent<Question>(teacherOnB, 'question:updated');
    const bobView = nextEvent<Question>(bobOnB, 'question:updated');
    await ok(onA, 'question:ask', { body: 'Is this anonymous?', anonymous: true });
    expect((await teacherView).author?.displayName).toBe('Alice on A');
    expect((await bobView).author).toBeNull();

    // The teacher (a socket on A this time) removes Bob, whose socket is held by B.
    const teacherOnA = await joinAs(a.url, teacher, classId);
    sockets.push(teacherOnA);
    const bobGone = new Promise<string>((resolve) => bobOnB.once('disconnect', resolve));
    const result = await ok(teacherOnA, 'moderation:remove', { userId: bob.user.id });
    expect(result.disconnected).toBe(1);
    expect(await bobGone).toBe('io server disconnect');
    const bobAgain = await joinAs(a.url, bob, classId).catch((err: Error) => err);
    expect(bobAgain).toBeInstanceOf(Error);
    expect(String(bobAgain)).toContain('removed');

    for (const p of [a, b]) expect((await fetch(`${p.url}/health`)).status).toBe(200);
  });
});
