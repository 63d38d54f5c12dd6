// The chat's Nagle-style coalescing on a real Socket.io server and real clients: a lone message goes out at
// once and alone, the ones that follow within the window arrive as one batch in order, a quiet window closes,
// classes are batched apart, and the last member leaving or close() sends what was collected.
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../server/contracts/interaction.ts';
import { ChatFanOut } from '../../server/realtime/chat-fan-out.ts';
import { classRoom } from '../../server/realtime/class-membership.ts';
import type { LecternIo } from '../../server/realtime/socket-server.ts';

/** Long enough that messages sent in one tick always fall in one window, even on a loaded machine. */
const WINDOW_MS = 300;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let counter = 0;
function message(body: string): ChatMessage {
  counter++;
  return {
    id: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    author: { id: '00000000-0000-4000-8000-000000000000', displayName: 'Ada', role: 'teacher' },
    body,
    createdAt: new Date().toISOString(),
    deleted: false,
  };
}

/** Resolves once `condition` holds (checked every 10 ms); fails after 10 s naming what it waited for. */
async function until(condition: () => boolean, what: () => string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 10_000) throw new Error(`waited 10 s for ${what()}`);
    await sleep(10);
  }
}

/** Resolves once `batches` holds `count` events. */
function arrived(batches: ChatMessage[][], count: number): Promise<void> {
  return until(
    () => batches.length >= count,
    () => `${count} chat:messages events (${batches.length} arrived)`,
  );
}

describe('ChatFanOut', () => {
  let http: HttpServer;
  let io: LecternIo;
  const clients: Socket[] = [];
  const bodies = (batches: ChatMessage[][]) => batches.map((batch) => batch.map((m) => m.body));

  /** A client in the room of `classId`, recording every `chat:messages` batch it receives. */
  async function member(classId: string): Promise<ChatMessage[][]> {
    const { port } = http.address() as AddressInfo;
    const socket = connect(`http://127.0.0.1:${port}`, {
      transports: ['websocket'],
      query: { classId },
      reconnection: false,
      forceNew: true,
    });
    clients.push(socket);
    const batches: ChatMessage[][] = [];
    socket.on('chat:messages', (batch: ChatMessage[]) => batches.push(batch));
    await new Promise<void>((resolve, reject) => {
      socket.once('joined', () => resolve());
      socket.once('connect_error', reject);
    });
    return batches;
  }

  beforeAll(async () => {
    http = createServer();
    io = new Server(http) as LecternIo;
    io.on('connection', async (socket) => {
      await socket.join(classRoom(String(socket.handshake.query.classId)));
      // A test-only signal, outside the product's protocol.
      (socket as unknown as { emit(event: string): void }).emit('joined');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await io.close();
  });

  it('sends a lone message at once and alone, then the ones within the window as one batch, in order', async () => {
    const fanOut = new ChatFanOut(io, WINDOW_MS);
    const inA = await member('a');
    const inB = await member('b');
    fanOut.enter('a');
    fanOut.enter('b');
    try {
      fanOut.send('a', message('first'));
      fanOut.send('a', message('second'));
      fanOut.send('b', message('elsewhere'));
      fanOut.send('a', message('third'));
      fanOut.send('a', message('fourth'));
      await arrived(inA, 2);
      expect(bodies(inA)).toEqual([['first'], ['second', 'third', 'fourth']]);
      await arrived(inB, 1);
      expect(bodies(inB)).toEqual([['elsewhere']]); // each class has its own window

      // The window after a batch collects nothing and closes: the next message is alone again, at once.
      await until(
        () => !fanOut.collecting('a'),
        () => 'the window of class a to close',
      );
      fanOut.send('a', message('after a pause'));
      await arrived(inA, 3);
      expect(bodies(inA)[2]).toEqual(['after a pause']);
    } finally {
      fanOut.close();
    }
  });

  it('sends what was collected when the last member leaves, and before a deletion (flush)', async () => {
    const fanOut = new ChatFanOut(io, 60_000); // a window that never ends within the test
    const inC = await member('c');
    fanOut.enter('c');
    fanOut.enter('c');
    fanOut.send('c', message('one'));
    fanOut.send('c', message('two'));
    fanOut.flush('c');
    fanOut.send('c', message('three'));
    fanOut.leave('c');
    fanOut.send('c', message('four')); // a member is left: still collecting
    fanOut.leave('c'); // the last one: sends it now and stops the timer
    await arrived(inC, 3);
    expect(bodies(inC)).toEqual([['one'], ['two'], ['three', 'four']]);
    fanOut.close();
  });

  it('sends the collected batches on close() and nothing after', async () => {
    const fanOut = new ChatFanOut(io, 60_000);
    const inD = await member('d');
    fanOut.enter('d');
    fanOut.send('d', message('before close'));
    fanOut.send('d', message('collected'));
    fanOut.close();
    expect(fanOut.closed).toBe(true);
    fanOut.send('d', message('after close'));
    // Nothing follows: a marker sent to the room after it arrives next (one connection keeps its order).
    io.to(classRoom('d')).emit('chat:messages', [message('marker')]);
    await arrived(inD, 3);
    expect(bodies(inD)).toEqual([['before close'], ['collected'], ['marker']]);
  });
});
