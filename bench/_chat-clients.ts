// A worker thread of the chat benchmark (bench/chat.ts): owns a contiguous slice of the audience's
// socket.io clients, sends the messages the main thread assigns to them, and times every receipt.
//
// A real audience runs on as many machines as people; one thread handling 2000 clients receives a broadcast
// one client after another, so the last "receipt" would measure the load generator's queue, not the server.
// Spreading the clients over threads (one per core) keeps that serialisation out of the figures.
//
// Clock: every timestamp is `performance.timeOrigin + performance.now()`, a high-resolution epoch time that is
// comparable across threads (each thread's origin is sampled from the same wall clock; the main thread checks
// the offset with a ping and reports it). The time a message was SCHEDULED to go (by the main thread's fixed
// rate) travels in its body, so a receipt in any thread is timed from when the message was due: a busy client
// thread that gets to a send late adds that delay to the latency instead of hiding it (coordinated omission).
// How late the sends went out is reported apart (send lag).
//
// Loss is counted per message and client: each client must receive each accepted message exactly once, so a
// duplicate can never make up for a message another client (or the same one) missed.
import { parentPort, workerData } from 'node:worker_threads';
import { io as connect, type Socket } from 'socket.io-client';
import type { ChatMessage } from '../server/contracts/interaction.ts';
import type { Ack } from '../server/contracts/realtime.ts';

export interface ChatClientsWorkerData {
  index: number;
  /** The server nodes; this thread's clients connect to them in turn (by their index in the whole audience). */
  urls: string[];
  /** Global index of this thread's first client. */
  first: number;
  classId: string;
  cookies: string[];
  /** Size of the per-message arrays (message sequence numbers are below this). */
  expectedMessages: number;
  /** Clients connecting at once in this thread. */
  wave: number;
}

/** Per-message send status, as kept by the thread whose client sent it. */
export const SendStatus = { none: 0, accepted: 1, refused: 2, timeout: 3 } as const;

export type ToWorker =
  | { type: 'clock'; id: number }
  | { type: 'start' }
  | { type: 'send'; seq: number; sender: number; scheduledAt: number }
  | { type: 'finish-sending' }
  | { type: 'drain'; counted: Uint32Array; until: number };

export interface WorkerResults {
  index: number;
  clients: number;
  /** Latency samples (ms) of every first receipt of a message by a client of this thread, from its schedule. */
  latencies: Float64Array;
  /** Per message: how many of this thread's clients received it (at least once). */
  received: Uint32Array;
  /** (message, client) pairs of this thread where an accepted message never arrived. */
  lost: number;
  /** Receipts of a message by a client that already had it. */
  duplicates: number;
  /** How late each of this thread's sends was emitted after its scheduled time (ms). */
  sendLag: Float64Array;
  /** Per message: latency of its first and last receipt in this thread (Infinity / -Infinity if none). */
  first: Float64Array;
  last: Float64Array;
  batches: number;
  stray: number;
  joinFailures: number;
  joinErrors: string[];
  disconnects: number;
  lostOnConnected: number;
  /** CPU seconds this thread used between `start` and the end of the drain. */
  cpuSeconds: number;
}

export type FromWorker =
  | { type: 'clock'; id: number; at: number }
  | { type: 'log'; message: string }
  | { type: 'joined'; joinFailures: number }
  | { type: 'sent'; status: Uint8Array; refused: Record<string, number> }
  | { type: 'results'; results: WorkerResults };

export const epochNow = (): number => performance.timeOrigin + performance.now();
export const messageBody = (seq: number, sentAt: number): string => `bench ${seq} ${sentAt}`;
const bodyPattern = /^bench (\d+) (\d+(?:\.\d+)?)$/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(port: NonNullable<typeof parentPort>, data: ChatClientsWorkerData): Promise<void> {
  const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
  const log = (message: string) => post({ type: 'log', message: `worker ${data.index}: ${message}` });

  const sockets: Socket[] = [];
  /** Per client (same index as `sockets`): how many times it received each message. */
  const receipts: Uint8Array[] = [];
  const latencies = new Float64Array(data.expectedMessages * data.cookies.length);
  let samples = 0;
  let duplicates = 0;
  const sendLag = new Float64Array(data.expectedMessages);
  let sends = 0;
  const received = new Uint32Array(data.expectedMessages);
  const status = new Uint8Array(data.expectedMessages);
  const first = new Float64Array(data.expectedMessages).fill(Infinity);
  const last = new Float64Array(data.expectedMessages).fill(-Infinity);
  const refused = new Map<string, number>();
  const pending: Promise<void>[] = [];
  let batches = 0;
  let stray = 0;
  let disconnects = 0;
  let joinFailures = 0;
  const joinErrors: string[] = [];
  let cpuStart: NodeJS.CpuUsage | undefined;

  const onMessage = (m: ChatMessage, at: number, mine: Uint8Array) => {
    const match = bodyPattern.exec(m.body);
    const seq = match ? Number(match[1]) : -1;
    if (!match || seq >= data.expectedMessages) return void stray++;
    if (mine[seq]! > 0) {
      duplicates++;
      mine[seq] = Math.min(255, mine[seq]! + 1);
      return;
    }
    mine[seq] = 1;
    received[seq]!++;
    const latency = at - Number(match[2]);
    if (latency < first[seq]!) first[seq] = latency;
    if (latency > last[seq]!) last[seq] = latency;
    if (samples < latencies.length) latencies[samples++] = latency;
  };

  const send = (seq: number, sender: Socket, scheduledAt: number) => {
    sendLag[sends++] = epochNow() - scheduledAt;
    pending.push(
      (sender.timeout(30_000).emitWithAck('chat:send', { body: messageBody(seq, scheduledAt) }) as Promise<Ack<ChatMessage>>).then(
        (ack) => {
          if (ack.ok) status[seq] = SendStatus.accepted;
          else {
            status[seq] = SendStatus.refused;
            refused.set(ack.error.code, (refused.get(ack.error.code) ?? 0) + 1);
          }
        },
        () => {
          status[seq] = SendStatus.timeout;
          refused.set('timeout', (refused.get('timeout') ?? 0) + 1);
        },
      ),
    );
  };

  const drain = async (counted: Uint32Array, until: number) => {
    const complete = () => counted.every((k) => received[k] === sockets.length);
    while (epochNow() < until && !complete()) await sleep(100);
    const cpu = process.threadCpuUsage(cpuStart);
    // Every (message, client) pair that never arrived; apart, those of clients that stayed connected (a
    // dropped client misses everything after it dropped).
    let lost = 0;
    let lostOnConnected = 0;
    receipts.forEach((mine, c) => {
      let missing = 0;
      for (const k of counted) if (mine[k] === 0) missing++;
      lost += missing;
      if (sockets[c]!.connected) lostOnConnected += missing;
    });
    const results: WorkerResults = {
      index: data.index,
      clients: sockets.length,
      latencies: latencies.slice(0, samples),
      received,
      lost,
      duplicates,
      sendLag: sendLag.slice(0, sends),
      first,
      last,
      batches,
      stray,
      joinFailures,
      joinErrors,
      disconnects,
      lostOnConnected,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
    post({ type: 'results', results }, [
      results.latencies.buffer as ArrayBuffer,
      received.buffer as ArrayBuffer,
      first.buffer as ArrayBuffer,
      last.buffer as ArrayBuffer,
      results.sendLag.buffer as ArrayBuffer,
    ]);
    // The main thread terminates this thread once it has the results.
    for (const s of sockets) s.disconnect();
  };

  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'clock':
        return post({ type: 'clock', id: message.id, at: epochNow() });
      case 'start':
        cpuStart = process.threadCpuUsage();
        return;
      case 'send':
        return send(message.seq, sockets[message.sender]!, message.scheduledAt);
      case 'finish-sending':
        void Promise.all(pending).then(() => post({ type: 'sent', status, refused: Object.fromEntries(refused) }));
        return;
      case 'drain':
        void drain(message.counted, message.until);
        return;
    }
  });

  // Connect and join in waves, so that the server is not hit by every handshake at once. A client that fails
  // to join or drops later stays counted: what it does not receive is lost.
  for (let i = 0; i < data.cookies.length; i += data.wave) {
    const wave = data.cookies.slice(i, i + data.wave).map(async (cookie, j) => {
      const socket = connect(data.urls[(data.first + i + j) % data.urls.length]!, {
        path: '/socket.io',
        transports: ['websocket'],
        extraHeaders: { cookie },
        reconnection: false,
        forceNew: true,
      });
      const mine = new Uint8Array(data.expectedMessages);
      sockets.push(socket);
      receipts.push(mine);
      // A busy chat arrives in batches: every message in one counts, timed from its own schedule.
      socket.on('chat:messages', (batch: ChatMessage[]) => {
        const at = epochNow();
        for (const m of batch) onMessage(m, at, mine);
        batches++;
      });
      socket.on('disconnect', () => void disconnects++);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const ack = (await socket.timeout(60_000).emitWithAck('class:join', { classId: data.classId })) as Ack<unknown>;
      if (!ack.ok) throw new Error(`join failed: ${ack.error.message}`);
    });
    for (const outcome of await Promise.allSettled(wave)) {
      if (outcome.status === 'rejected') {
        joinFailures++;
        if (joinErrors.length < 3) joinErrors.push(String(outcome.reason));
      }
    }
    if ((i / data.wave) % 8 === 0 || i + data.wave >= data.cookies.length)
      log(`connected ${Math.min(i + data.wave, data.cookies.length)}/${data.cookies.length}`);
  }
  post({ type: 'joined', joinFailures });
}

if (parentPort) await run(parentPort, workerData as ChatClientsWorkerData);
