// Chat delivery in one big class: N socket.io clients (teacher + students) joined to one live class on one
// server process, the teacher and students sending at a fixed total rate for a while. Measures the delivery
// latency (send -> every client's receipt) and the messages lost (accepted by the server but not delivered
// to every client). Options: --clients 2000 --rate 50 --duration 30 (or BENCH_CLIENTS/BENCH_RATE/BENCH_DURATION).
//
// The server runs in its own process (as in production); the clients share this one, so on a small machine
// the measuring side competes for CPU with the server: the figures are an upper bound on the latency.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { io as connect, type Socket } from 'socket.io-client';
import { generateSessionToken, sessionIdFromToken, SESSION_COOKIE } from '../server/auth/session-store.ts';
import type { ChatMessage } from '../server/contracts/interaction.ts';
import type { Ack } from '../server/contracts/realtime.ts';
import { openDatabase } from '../server/db/client.ts';
import { sessions, users } from '../server/db/schema.ts';
import { createScratchDatabase } from '../tests/helpers/databases.ts';
import { insertClass } from '../tests/helpers/live-class.ts';
import { serverEnv, ServerProcess } from '../tests/helpers/server-process.ts';

interface Options {
  clients: number;
  rate: number;
  duration: number;
  /** Share of the messages the teacher sends (the rest: random students). */
  teacherShare: number;
}

export interface ChatBenchResult {
  clients: number;
  rate: number;
  p50: number;
  p99: number;
  lost: number;
  [extra: string]: unknown;
}

function options(args: string[]): Options {
  const { values } = parseArgs({
    args,
    options: { clients: { type: 'string' }, rate: { type: 'string' }, duration: { type: 'string' } },
    strict: true,
  });
  const num = (v: string | undefined, env: string, fallback: number) => {
    const n = Number(v ?? process.env[env] ?? fallback);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${env.toLowerCase().replace('bench_', '--')} must be a positive number`);
    return n;
  };
  return {
    clients: Math.floor(num(values.clients, 'BENCH_CLIENTS', 2000)),
    rate: num(values.rate, 'BENCH_RATE', 50),
    duration: num(values.duration, 'BENCH_DURATION', 30),
    teacherShare: 0.05,
  };
}

const now = (): number => performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (message: string) => process.stderr.write(`[bench chat] ${message}\n`);

/** One teacher and `students` students with sessions, all in one live class. Returns cookies (teacher first). */
async function seedClass(databaseUrl: string, dataDir: string, students: number): Promise<{ classId: string; cookies: string[] }> {
  const database = await openDatabase({ url: databaseUrl, pgliteDir: path.join(dataDir, 'unused') });
  try {
    const db = database.db;
    const people = Array.from({ length: students + 1 }, (_, i) => ({
      email: `bench-${i}-${Date.now()}@example.test`,
      displayName: i === 0 ? 'Bench Teacher' : `Student ${i}`,
      // Never used to log in: these people get their sessions directly.
      passwordHash: 'bench-no-login',
      role: i === 0 ? ('teacher' as const) : ('student' as const),
    }));
    const rows = [];
    for (let i = 0; i < people.length; i += 500) rows.push(...(await db.insert(users).values(people.slice(i, i + 500)).returning({ id: users.id })));
    const [teacher, ...studentRows] = rows;
    const { classId } = await insertClass(db, {
      teacherId: teacher!.id,
      studentIds: studentRows.map((s) => s.id),
      title: 'Bench class',
      courseTitle: 'Bench course',
      live: true,
    });
    const tokens = rows.map(() => generateSessionToken());
    const expiresAt = new Date(Date.now() + 86_400_000);
    for (let i = 0; i < rows.length; i += 500) {
      await db.insert(sessions).values(rows.slice(i, i + 500).map((r, j) => ({ id: sessionIdFromToken(tokens[i + j]!), userId: r.id, expiresAt })));
    }
    return { classId, cookies: tokens.map((t) => `${SESSION_COOKIE}=${t}`) };
  } finally {
    await database.close();
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSecondsOf(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export default async function chatBench(args: string[]): Promise<ChatBenchResult> {
  const opts = options(args);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-bench-chat-'));
  log(`${opts.clients} clients, ${opts.rate} msg/s for ${opts.duration} s`);
  const scratch = await createScratchDatabase();
  let server: ServerProcess | undefined;
  const sockets: Socket[] = [];
  try {
    // The server as in production (but on loopback, free ports, one worker), logging only warnings.
    server = await ServerProcess.start({ ...serverEnv({ dataDir, databaseUrl: scratch.url }), NODE_ENV: 'production', LOG_LEVEL: 'warn' });
    log(`server on ${server.url} (pid ${server.child.pid})`);
    const { classId, cookies } = await seedClass(scratch.url, dataDir, opts.clients - 1);
    log(`seeded ${cookies.length} people and their sessions`);

    // Delivery bookkeeping: latency samples, and per message how many clients received it.
    const expectedMessages = Math.ceil(opts.rate * opts.duration) + 10;
    const latencies = new Float64Array(expectedMessages * opts.clients);
    let samples = 0;
    const sentAt = new Map<number, number>();
    const received = new Uint32Array(expectedMessages);
    const receivedBy = new Map<Socket, number>();
    let stray = 0;
    let batches = 0;
    const onMessage = (m: ChatMessage) => {
      const match = /^bench (\d+)$/.exec(m.body);
      const seq = match ? Number(match[1]) : -1;
      const at = sentAt.get(seq);
      if (at === undefined) return void stray++;
      received[seq]!++;
      if (samples < latencies.length) latencies[samples++] = now() - at;
    };

    // Connect and join in waves, so that the server is not hit by every handshake at once. A client that
    // fails to join or drops later stays counted: what it does not receive is lost.
    const started = now();
    const wave = 100;
    let joinFailures = 0;
    let disconnects = 0;
    for (let i = 0; i < cookies.length; i += wave) {
      const batch = cookies.slice(i, i + wave).map(async (cookie) => {
        const socket = connect(server!.url, { path: '/socket.io', transports: ['websocket'], extraHeaders: { cookie }, reconnection: false, forceNew: true });
        sockets.push(socket);
        receivedBy.set(socket, 0);
        // A busy chat arrives in batches: every message in one counts, timed from its own send.
        socket.on('chat:messages', (batch: ChatMessage[]) => {
          receivedBy.set(socket, receivedBy.get(socket)! + batch.length);
          for (const m of batch) onMessage(m);
          batches++;
        });
        socket.on('disconnect', () => void disconnects++);
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', () => resolve());
          socket.once('connect_error', reject);
        });
        const ack = (await socket.timeout(60_000).emitWithAck('class:join', { classId })) as Ack<unknown>;
        if (!ack.ok) throw new Error(`join failed: ${ack.error.message}`);
      });
      for (const outcome of await Promise.allSettled(batch)) {
        if (outcome.status === 'rejected') {
          joinFailures++;
          if (joinFailures <= 3) log(`a client failed to join: ${String(outcome.reason)}`);
        }
      }
      if ((i / wave) % 4 === 0 || i + wave >= cookies.length) log(`connected ${Math.min(i + wave, cookies.length)}/${cookies.length}`);
    }
    log(`all joined in ${((now() - started) / 1000).toFixed(1)} s; sending`);
    await sleep(1000);

    // Fixed total rate: every tick sends what the schedule owes by now, each from a random sender.
    let seq = 0;
    let accepted = 0;
    const refused = new Map<string, number>();
    const pending: Promise<void>[] = [];
    const sendStart = now();
    const cpuBefore = { bench: process.cpuUsage(), server: cpuSecondsOf(server.child.pid) };
    const total = Math.round(opts.rate * opts.duration);
    let lastReport = sendStart;
    while (seq < total) {
      const owed = Math.min(total, Math.floor(((now() - sendStart) / 1000) * opts.rate) + 1);
      while (seq < owed) {
        const mine = seq++;
        const sender = Math.random() < opts.teacherShare ? sockets[0]! : sockets[1 + Math.floor(Math.random() * (sockets.length - 1))] ?? sockets[0]!;
        sentAt.set(mine, now());
        pending.push(
          (sender.timeout(30_000).emitWithAck('chat:send', { body: `bench ${mine}` }) as Promise<Ack<ChatMessage>>).then(
            (ack) => {
              if (ack.ok) accepted++;
              else {
                refused.set(ack.error.code, (refused.get(ack.error.code) ?? 0) + 1);
                sentAt.delete(mine);
              }
            },
            () => void refused.set('timeout', (refused.get('timeout') ?? 0) + 1),
          ),
        );
      }
      if (now() - lastReport > 5000) {
        lastReport = now();
        log(`sent ${seq}/${total}`);
      }
      await sleep(10);
    }
    await Promise.all(pending);
    // Let the last broadcasts arrive.
    const drainUntil = now() + 10_000;
    const complete = () => [...sentAt.keys()].every((k) => received[k] === sockets.length);
    while (now() < drainUntil && !complete()) await sleep(100);
    const sendSeconds = (now() - sendStart) / 1000;
    const benchCpu = process.cpuUsage(cpuBefore.bench);
    const cpu = {
      benchProcess: Math.round(((benchCpu.user + benchCpu.system) / 1e6 / sendSeconds) * 100) / 100,
      serverProcess: Math.round(((cpuSecondsOf(server.child.pid) - cpuBefore.server) / sendSeconds) * 100) / 100,
      loadAverage: os.loadavg()[0] ?? NaN,
    };
    // Lost on the clients that stayed connected (a dropped client misses everything after it dropped).
    let lostOnConnected = 0;
    for (const [socket, count] of receivedBy) if (socket.connected) lostOnConnected += accepted - count;

    let lost = 0;
    for (const k of sentAt.keys()) lost += sockets.length - received[k]!;
    const sorted = latencies.slice(0, samples).sort();
    const round = (n: number) => Math.round(n * 10) / 10;
    const result: ChatBenchResult = {
      clients: sockets.length,
      rate: opts.rate,
      p50: round(percentile(sorted, 50)),
      p99: round(percentile(sorted, 99)),
      lost,
      max: round(sorted[sorted.length - 1] ?? NaN),
      durationSeconds: opts.duration,
      messagesSent: total,
      messagesAccepted: accepted,
      refused: Object.fromEntries(refused),
      deliveries: samples,
      /** Chat events received by all clients: deliveries / batches is the mean batch size. */
      batches,
      strayMessages: stray,
      joinFailures,
      disconnects,
      lostOnConnectedClients: lostOnConnected,
      /** Cores used during the send window by each process, and the machine's 1-min load average. */
      cpu,
      sendSeconds: round(sendSeconds),
      cpus: os.cpus().length,
      node: process.version,
    };
    fs.mkdirSync(path.join(import.meta.dirname, 'results'), { recursive: true });
    fs.writeFileSync(path.join(import.meta.dirname, 'results', 'chat.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log('\nchat delivery (one server process, one class)');
    console.table({
      clients: result.clients,
      'rate (msg/s)': result.rate,
      'duration (s)': opts.duration,
      'accepted / sent': `${accepted} / ${total}`,
      deliveries: samples,
      'events (batches)': batches,
      'p50 (ms)': result.p50,
      'p99 (ms)': result.p99,
      'max (ms)': result.max,
      lost,
      'join failures': joinFailures,
      disconnects,
      'lost (connected clients)': lostOnConnected,
      'cores used: bench / server': `${cpu.benchProcess} / ${cpu.serverProcess}`,
      'load average': cpu.loadAverage.toFixed(1),
    });
    console.log(`written to bench/results/chat.json`);
    return result;
  } finally {
    for (const s of sockets) s.disconnect();
    await server?.stop();
    await scratch.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
