// How many students one mediasoup worker (one core) carries over WebRTC. The fan-out bench
// (`npm run bench -- fanout`, bench/results/fanout.json, the README's Performance section) measures it; on the
// shared 2-core machine its werift receivers saturated long before the worker (40 consumers took under 5 % of
// the worker's core), so the default is still mediasoup's documented ~500 consumers per worker, not our figure.
import type { RoomCapacity } from './classroom-room.ts';

/** Video + audio consumers one worker core carries at < 1 % loss (mediasoup's figure until the bench measures ours). */
export const DEFAULT_CONSUMERS_PER_WORKER = 500;
/** A student receives the teacher's camera and microphone (a screen share adds two more while it lasts). */
export const CONSUMERS_PER_STUDENT = 2;

/** Seats per worker from a consumer budget (LECTERN_CONSUMERS_PER_WORKER), and the optional per-class cap. */
export function roomCapacity(consumersPerWorker: number, maxViewersPerClass: number | undefined): RoomCapacity {
  return { seatsPerWorker: Math.max(1, Math.floor(consumersPerWorker / CONSUMERS_PER_STUDENT)), maxViewersPerClass };
}
