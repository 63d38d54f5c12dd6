// Chat delivery in one big class: N socket.io clients (teacher + students) joined to one live class on one
// server process, the teacher and students sending at a fixed total rate for a while. Measures the delivery
// latency (from the moment the schedule says a message is sent -> every client's receipt, so a late sender
// counts against the figures) and the messages lost (each accepted message must reach each client exactly
// once; duplicates are counted apart and never offset a loss). Options: --clients 2000 --rate 50 --duration 30 --workers <cores>
// --nodes 1 (or BENCH_CLIENTS/BENCH_RATE/BENCH_DURATION/BENCH_WORKERS/BENCH_NODES). With --nodes N, N server processes
// share the database and Redis (the Socket.io Redis adapter), and the clients connect to them in turn.
//
// The server runs in its own process (as in production). The clients are split over --workers threads of this
// process (bench/_chat-clients.ts), each with its own socket.io connections: a real audience runs on as many
// machines as people, and one thread would receive each broadcast one client after another (~25 us each), so
// the last client's latency would include the load generator's own queue. Per message, the first receipt and
// the first-to-last spread are reported too (the server itself also writes a broadcast to its sockets one
// after another). On a small machine the measuring side still competes for CPU with the server: the figures
// are an upper bound on the latency.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { generateSessionToken, sessionIdFromToken, SESSION_COOKIE } from '../server/auth/session-store.ts';
import { openDatabase } from '../server/db/client.ts';
import { sessions, users } from '../server/db/schema.ts';
import { createScratchDatabase } from '../tests/helpers/databases.ts';
import { insertClass } from '../tests/helpers/live-class.ts';
import { REDIS_URL } from '../tests/helpers/redis.ts';
import { serverEnv, ServerProcess } from '../tests/helpers/server-process.ts';
import { epochNow, SendStatus, type ChatClientsWorkerData, type FromWorker, type ToWorker, type WorkerResults } from './_chat-clients.ts';

interface Options {
  clients: number;
  rate: number;
  duration: number;
  /** Threads the clients are spread over. */
  workers: number;
  /** Share of the messages the teacher sends (the rest: random students). */
  teacherShare: number;
  /** Server processes sharing one database and Redis (the Socket.io Redis adapter carries each broadcast to all). */
  nodes: number;
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
    options: {
      clients: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      workers: { type: 'string' },
      nodes: { type: 'string' },
    },
    strict: true,
  });
  const num = (v: string | undefined, env: string, fallback: number) => {
    const n = Number(v ?? process.env[env] ?? fallback);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${env.toLowerCase().replace('bench_', '--')} must be a positive number`);
    return n;
  };
  const clients = Math.floor(num(values.clients, 'BENCH_CLIENTS', 2000));
  return {
    clients,
    rate: num(values.rate, 'BENCH_RATE', 50),
    duration: num(values.duration, 'BENCH_DURATION', 30),
    workers: Math.min(clients, Math.max(1, Math.floor(num(values.workers, 'BENCH_WORKERS', os.availableParallelism())))),
    teacherShare: 0.05,
    nodes: Math.floor(num(values.nodes, 'BENCH_NODES', 1)),
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
    for (let i = 0; i < people.length; i += 500)
      rows.push(
        ...(await db
          .insert(users)
          .values(people.slice(i, i + 500))
          .returning({ id: users.id })),
      );
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
      await db
        .insert(sessions)
        .values(rows.slice(i, i + 500).map((r, j) => ({ id: sessionIdFromToken(tokens[i + j]!), userId: r.id, expiresAt })));
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

/** One client thread, with a way to await its next message of a given type. */
interface ClientThread {
  worker: Worker;
  /** Global index of its first client (clients are split in contiguous slices; the teacher is client 0). */
  first: number;
  clients: number;
  post(message: ToWorker, transfer?: ArrayBuffer[]): void;
  next<T extends FromWorker['type']>(type: T): Promise<Extract<FromWorker, { type: T }>>;
}

function startClientThread(data: ChatClientsWorkerData, first: number): ClientThread {
  const worker = new Worker(new URL('./_chat-clients.ts', import.meta.url), { workerData: data });
  const waiting = new Map<string, Array<{ resolve: (m: FromWorker) => void; reject: (e: Error) => void }>>();
  const failAll = (error: Error) => {
    for (const list of waiting.values()) for (const w of list) w.reject(error);
    waiting.clear();
  };
  worker.on('message', (message: FromWorker) => {
    if (message.type === 'log') return log(message.message);
    const waiter = waiting.get(message.type)?.shift();
    waiter?.resolve(message);
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', (code) => failAll(new Error(`client thread ${data.index} exited (code ${code})`)));
  return {
    worker,
    first,
    clients: data.cookies.length,
    post: (message, transfer = []) => worker.postMessage(message, transfer),
    next: (type) =>
      new Promise((resolve, reject) => {
        const list = waiting.get(type) ?? [];
        list.push({ resolve: resolve as (m: FromWorker) => void, reject });
        waiting.set(type, list);
      }),
  };
}

/**
 * Offset of a thread's clock against this one (ms), from the ping with the shortest round trip: the thread's
 * reading minus the midpoint of ours. Latencies mix a sender's and a receiver's clock, so this should be tiny.
 */
async function clockOffset(thread: ClientThread): Promise<number> {
  let best = { rtt: Infinity, offset: NaN };
  for (let id = 0; id < 20; id++) {
    const before = epochNow();
    const reply = thread.next('clock');
    thread.post({ type: 'clock', id });
    const { at } = await reply;
    const after = epochNow();
    if (after - before < best.rtt) best = { rtt: after - before, offset: at - (before + after) / 2 };
  }
  return best.offset;
}

export default async function chatBench(args: string[]): Promise<ChatBenchResult> {
  const opts = options(args);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-bench-chat-'));
  log(`${opts.clients} clients over ${opts.workers} thread(s), ${opts.rate} msg/s for ${opts.duration} s`);
  const scratch = await createScratchDatabase();
  const servers: ServerProcess[] = [];
  const threads: ClientThread[] = [];
  try {
    // The server as in production (but on loopback, free ports, one worker), logging only warnings. Several
    // nodes share the database and Redis (their own key prefix for this run), as `npm run cluster` runs them.
    const redisPrefix = `lectern-bench-chat-${process.pid}`;
    for (let n = 0; n < opts.nodes; n++) {
      const env = serverEnv({
        dataDir: path.join(dataDir, `node-${n}`),
        databaseUrl: scratch.url,
        redisUrl: opts.nodes > 1 ? REDIS_URL : undefined,
      });
      const node = await ServerProcess.start({ ...env, LECTERN_REDIS_PREFIX: redisPrefix, NODE_ENV: 'production', LOG_LEVEL: 'warn' });
      servers.push(node);
      log(`server node ${n + 1}/${opts.nodes} on ${node.url} (pid ${node.child.pid})`);
    }
    const urls = servers.map((s) => s.url);
    const { classId, cookies } = await seedClass(scratch.url, dataDir, opts.clients - 1);
    log(`seeded ${cookies.length} people and their sessions`);

    // Every thread connects and joins its slice in waves (100 handshakes at a time in all).
    const expectedMessages = Math.ceil(opts.rate * opts.duration) + 10;
    const started = now();
    const wave = Math.max(1, Math.ceil(100 / opts.workers));
    for (let index = 0, first = 0; index < opts.workers; index++) {
      const count = Math.floor(cookies.length / opts.workers) + (index < cookies.length % opts.workers ? 1 : 0);
      threads.push(
        startClientThread({ index, urls, first, classId, cookies: cookies.slice(first, first + count), expectedMessages, wave }, first),
      );
      first += count;
    }
    await Promise.all(threads.map((t) => t.next('joined')));
    const clients = threads.reduce((n, t) => n + t.clients, 0);
    const clockOffsets = [];
    for (const t of threads) clockOffsets.push(await clockOffset(t));
    const offsets = clockOffsets.map((o) => `${(o * 1000).toFixed(0)} us`).join(', ');
    log(`all joined in ${((now() - started) / 1000).toFixed(1)} s; thread clock offsets ${offsets}; sending`);
    await sleep(1000);

    // Fixed total rate: message `seq` is due at sendStart + seq / rate. Every tick hands out what is due by
    // now, each from a random sender, stamped with its due time (not when its thread gets to it).
    const ownerOf = (client: number) => threads.findLast((t) => t.first <= client)!;
    let seq = 0;
    const sendStart = now();
    const sendStartEpoch = epochNow();
    const cpuBefore = { bench: process.cpuUsage(), main: process.threadCpuUsage(), servers: servers.map((s) => cpuSecondsOf(s.child.pid)) };
    for (const t of threads) t.post({ type: 'start' });
    const total = Math.round(opts.rate * opts.duration);
    let lastReport = sendStart;
    while (seq < total) {
      const owed = Math.min(total, Math.floor(((now() - sendStart) / 1000) * opts.rate) + 1);
      while (seq < owed) {
        const sender = Math.random() < opts.teacherShare || clients === 1 ? 0 : 1 + Math.floor(Math.random() * (clients - 1));
        const owner = ownerOf(sender);
        const scheduledAt = sendStartEpoch + (seq * 1000) / opts.rate;
        owner.post({ type: 'send', seq: seq++, sender: sender - owner.first, scheduledAt });
      }
      if (now() - lastReport > 5000) {
        lastReport = now();
        log(`sent ${seq}/${total}`);
      }
      await sleep(10);
    }
    // Every send's outcome (acks), then the messages every client must get: accepted ones and unanswered ones
    // (the server may have broadcast them), as before.
    const sent = await Promise.all(
      threads.map((t) => {
        const reply = t.next('sent');
        t.post({ type: 'finish-sending' });
        return reply;
      }),
    );
    const status = new Uint8Array(expectedMessages);
    const refused = new Map<string, number>();
    for (const s of sent) {
      s.status.forEach((v, k) => void (v !== SendStatus.none && (status[k] = v)));
      for (const [code, n] of Object.entries(s.refused)) refused.set(code, (refused.get(code) ?? 0) + n);
    }
    const counted = Uint32Array.from(status.keys()).filter((k) => status[k] === SendStatus.accepted || status[k] === SendStatus.timeout);
    const accepted = status.filter((v) => v === SendStatus.accepted).length;
    // Let the last broadcasts arrive.
    const until = epochNow() + 10_000;
    const results: WorkerResults[] = await Promise.all(
      threads.map(async (t) => {
        const reply = t.next('results');
        t.post({ type: 'drain', counted, until });
        return (await reply).results;
      }),
    );
    const sendSeconds = (now() - sendStart) / 1000;
    const benchCpu = process.cpuUsage(cpuBefore.bench);
    const mainCpu = process.threadCpuUsage(cpuBefore.main);
    const cores = (cpuSeconds: number) => Math.round((cpuSeconds / sendSeconds) * 100) / 100;
    const cpu = {
      /** The whole bench process: the main thread and every client thread. */
      benchProcess: cores((benchCpu.user + benchCpu.system) / 1e6),
      benchMainThread: cores((mainCpu.user + mainCpu.system) / 1e6),
      benchClientThreads: results.map((r) => cores(r.cpuSeconds)),
      serverProcess: cores(servers.reduce((n, s, i) => n + cpuSecondsOf(s.child.pid) - cpuBefore.servers[i]!, 0)),
      serverProcesses: servers.map((s, i) => cores(cpuSecondsOf(s.child.pid) - cpuBefore.servers[i]!)),
      loadAverage: os.loadavg()[0] ?? NaN,
    };

    // Everything over ALL clients, as if they were in one thread. Lost: (message, client) pairs that never
    // arrived, counted per client, so a duplicate elsewhere cannot hide one.
    const lost = results.reduce((n, r) => n + r.lost, 0);
    const duplicates = results.reduce((n, r) => n + r.duplicates, 0);
    const received = new Uint32Array(expectedMessages);
    for (const r of results) r.received.forEach((n, k) => void (received[k]! += n));
    const fullyDelivered = Array.from(counted).filter((k) => received[k] === clients).length;
    const sendLags = new Float64Array(results.reduce((n, r) => n + r.sendLag.length, 0));
    results.reduce((offset, r) => (sendLags.set(r.sendLag, offset), offset + r.sendLag.length), 0);
    sendLags.sort();
    const samples = results.reduce((n, r) => n + r.latencies.length, 0);
    const sorted = new Float64Array(samples);
    results.reduce((offset, r) => (sorted.set(r.latencies, offset), offset + r.latencies.length), 0);
    sorted.sort();
    // Per message that reached anyone, over all clients: the first receipt (the server's part, nearly free of
    // the clients' own queueing) and the spread from first to last receipt (what the audience's processing adds).
    const reachedAnyone = Array.from(counted).filter((k) => received[k]! > 0);
    const firstReceipts = new Float64Array(reachedAnyone.length);
    const spreads = new Float64Array(reachedAnyone.length);
    reachedAnyone.forEach((k, i) => {
      const first = Math.min(...results.map((r) => r.first[k]!));
      firstReceipts[i] = first;
      spreads[i] = Math.max(...results.map((r) => r.last[k]!)) - first;
    });
    firstReceipts.sort();
    spreads.sort();
    const sum = <K extends 'batches' | 'stray' | 'joinFailures' | 'disconnects' | 'lostOnConnected'>(key: K) =>
      results.reduce((n, r) => n + r[key], 0);
    const batches = sum('batches');
    const joinFailures = sum('joinFailures');
    const disconnects = sum('disconnects');
    const lostOnConnected = sum('lostOnConnected');
    for (const e of results.flatMap((r) => r.joinErrors).slice(0, 3)) log(`a client failed to join: ${e}`);
    const round = (n: number) => Math.round(n * 10) / 10;
    const clientsPerWorker = threads.map((t) => t.clients);
    const result: ChatBenchResult = {
      clients,
      rate: opts.rate,
      p50: round(percentile(sorted, 50)),
      p99: round(percentile(sorted, 99)),
      lost,
      duplicates,
      /** Messages every client must get (accepted, or unanswered within 30 s: the server may have sent them). */
      expectedMessages: counted.length,
      /** Of those, the ones that reached every client. */
      fullyDelivered,
      /** How late the client threads emitted the sends after their scheduled time (included in the latencies). */
      sendLag: {
        p50: round(percentile(sendLags, 50)),
        p99: round(percentile(sendLags, 99)),
        max: round(sendLags[sendLags.length - 1] ?? NaN),
      },
      max: round(sorted[sorted.length - 1] ?? NaN),
      /** Per message: its first receipt by any client, and the spread from first to last receipt (ms). */
      firstReceipt: { p50: round(percentile(firstReceipts, 50)), p99: round(percentile(firstReceipts, 99)) },
      receiptSpread: { p50: round(percentile(spreads, 50)), p99: round(percentile(spreads, 99)) },
      durationSeconds: opts.duration,
      /** Server processes (nodes) the clients were spread over, in turn. */
      nodes: servers.length,
      /** Threads of this process the clients were spread over (contiguous slices; the teacher in the first). */
      workers: threads.length,
      clientsPerWorker,
      /** Each client thread's clock minus the main thread's (ms), measured before sending: latencies mix clocks. */
      clockOffsetsMs: clockOffsets.map((o) => Math.round(o * 1000) / 1000),
      messagesSent: total,
      messagesAccepted: accepted,
      refused: Object.fromEntries(refused),
      deliveries: samples,
      /** Chat events received by all clients: deliveries / batches is the mean batch size. */
      batches,
      strayMessages: sum('stray'),
      joinFailures,
      disconnects,
      lostOnConnectedClients: lostOnConnected,
      /** Cores used during the send window by each process (and the bench's threads), and the machine's 1-min load average. */
      cpu,
      sendSeconds: round(sendSeconds),
      cpus: os.cpus().length,
      node: process.version,
    };
    fs.mkdirSync(path.join(import.meta.dirname, 'results'), { recursive: true });
    fs.writeFileSync(path.join(import.meta.dirname, 'results', 'chat.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\nchat delivery (${servers.length === 1 ? 'one server process' : `${servers.length} server processes`}, one class)`);
    console.table({
      clients: result.clients,
      'rate (msg/s)': result.rate,
      'duration (s)': opts.duration,
      'client threads': `${threads.length} (${clientsPerWorker.join(' + ')})`,
      'accepted / sent (unanswered)': `${accepted} / ${total} (${refused.get('timeout') ?? 0})`,
      deliveries: samples,
      'events (batches)': batches,
      'p50 (ms)': result.p50,
      'p99 (ms)': result.p99,
      'max (ms)': result.max,
      'first receipt p50 / p99 (ms)': `${round(percentile(firstReceipts, 50))} / ${round(percentile(firstReceipts, 99))}`,
      'first-to-last spread p50 / p99 (ms)': `${round(percentile(spreads, 50))} / ${round(percentile(spreads, 99))}`,
      'send lag p50 / p99 / max (ms)': [percentile(sendLags, 50), percentile(sendLags, 99), sendLags[sendLags.length - 1] ?? NaN]
        .map(round)
        .join(' / '),
      'fully delivered / expected': `${fullyDelivered} / ${counted.length}`,
      lost,
      duplicates,
      'join failures': joinFailures,
      disconnects,
      'lost (connected clients)': lostOnConnected,
      nodes: servers.length,
      'cores used: bench / server': `${cpu.benchProcess} / ${cpu.serverProcess}${servers.length > 1 ? ` (${cpu.serverProcesses.join(' + ')})` : ''}`,
      'bench threads: main / clients': `${cpu.benchMainThread} / ${cpu.benchClientThreads.join(' + ')}`,
      'load average': cpu.loadAverage.toFixed(1),
    });
    console.log(`written to bench/results/chat.json`);
    return result;
  } finally {
    await Promise.all(threads.map((t) => t.worker.terminate()));
    await Promise.all(servers.map((s) => s.stop()));
    await scratch.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
