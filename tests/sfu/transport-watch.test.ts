// How an HTTP-negotiated session (WHIP, WHEP) learns its client is gone, on a real mediasoup transport: a client
// that never connects is given up, once.
import { createWorker, type types } from 'mediasoup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTER_MEDIA_CODECS } from '../../server/sfu/media-codecs.ts';
import { watchTransport, type TransportLoss } from '../../server/sfu/transport-watch.ts';

describe('watchTransport', () => {
  let worker: types.Worker;
  let router: types.Router;

  beforeAll(async () => {
    worker = await createWorker({ logLevel: 'warn' });
    router = await worker.createRouter({ mediaCodecs: ROUTER_MEDIA_CODECS });
  });
  afterAll(() => worker?.close());

  it('gives up a transport whose ICE never connects, once', async () => {
    const transport = await router.createWebRtcTransport({ listenInfos: [{ protocol: 'udp', ip: '127.0.0.1' }] });
    const losses: TransportLoss[] = [];
    const unwatch = watchTransport(transport, { connectMs: 300, disconnectedMs: 60_000 }, (cause) => losses.push(cause));
    await expect.poll(() => losses, { timeout: 5_000 }).toEqual(['ice']);
    expect(transport.iceState).toBe('new');
    unwatch();
    transport.close();
  });
});
