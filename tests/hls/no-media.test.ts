// A class whose teacher's media never reaches the server (issue 10: the browser could not get through, yet
// its producers exist on the server): the HLS bridge waits for RTP instead of starting an ffmpeg that would
// fail, and when the class ends no recording is left behind, neither a failed one nor files on disk. The
// real server, the real signalling and ClassroomRoom; the producers carry no RTP because the transport's
// DTLS never completes (as with an unreachable announced address).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { askOk, createLiveClass, goLiveWithSendTransport, produceFake, socketFor } from '../sfu/fixtures.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ db: 'pglite' });
});
afterAll(async () => {
  await server?.stop();
});

describe('a class whose media never flows', () => {
  it('starts no ffmpeg while the producers carry nothing, and leaves no recording when it ends', async () => {
    const f = await createLiveClass(server);
    const teacher: Socket = await socketFor(server, f.teacher);
    try {
      await askOk(teacher, 'class:join', { classId: f.classId });
      const { send } = await goLiveWithSendTransport(teacher);
      const camera = await produceFake(teacher, send.id, 'camera');
      await produceFake(teacher, send.id, 'mic');

      const room = server.rooms.get(f.classId)!;
      expect(
        room
          .mediaSources()
          .map((s) => s.source)
          .sort(),
      ).toEqual(['camera', 'mic']);
      await expect.poll(() => server.liveHls.bridge(f.classId)).toBeDefined();
      const bridge = server.liveHls.bridge(f.classId)!;
      const runs: number[] = [];
      bridge.on('runstart', ({ runId }) => runs.push(runId));
      // The bridge keeps looking (its flow checks go on: 20 of them, 5 s at its pace) and finds no packet.
      await expect.poll(() => bridge.mediaChecks, { timeout: 30_000, interval: 100 }).toBeGreaterThanOrEqual(20);
      const producer = room.mediaSources().find((s) => s.producer.id === camera.producerId)!.producer;
      expect((await producer.getStats()).reduce((n, s) => n + s.packetCount, 0)).toBe(0);
      expect(runs).toEqual([]);
      expect(bridge.ffmpegPid).toBeUndefined();
      expect(bridge.mediaFlowed).toBe(false);
      expect(server.liveHls.status(f.classId)).toBe('starting');
      expect(await server.recordings.ofClass(f.classId)).toEqual([]);
      // Students asking for the broadcast hear it is starting, and the media routes have nothing to serve.
      const view = (await f.students[0]!.client.get(`/api/media/classes/${f.classId}/live`)).body;
      expect(view).toMatchObject({ status: 'starting', playlistUrl: null });
      const master = await fetch(`${server.url}/media/classes/${f.classId}/live/master.m3u8?token=${encodeURIComponent(view.token)}`);
      expect(master.status).toBe(404);
      expect((await master.json()).error.code).toBe('not_live');

      // The class ends: the bridge closes (having never run), and nothing is recorded.
      const closed = new Promise((resolve) => bridge.once('close', () => resolve(true)));
      await askOk(teacher, 'class:end', {});
      expect(await closed).toBe(true);
      await server.recordings.settled();
      expect(runs).toEqual([]);
      expect(await server.recordings.ofClass(f.classId)).toEqual([]);
      expect(fs.existsSync(path.join(server.dataDir, 'recordings')) ? fs.readdirSync(path.join(server.dataDir, 'recordings')) : []).toEqual(
        [],
      );
      expect(server.liveHls.status(f.classId)).toBe('offline');
    } finally {
      teacher.disconnect();
    }
  });
});
