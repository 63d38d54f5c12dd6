// How many students one mediasoup worker (one core) carries over WebRTC: the fan-out bench's figure
// (`npm run bench -- fanout`, bench/results/fanout.json, the README's Performance section).
import type { RoomCapacity } from './classroom-room.ts';

/** Video + audio consumers one worker core carried at < 1 % loss in the fan-out bench. */
export const MEASURED_CONSUMERS_PER_WORKER = 500;
/** A student receives the teacher's camera and microphone (a screen share adds two more while it lasts). */
export const CONSUMERS_PER_STUDENT = 2;

/** Seats per worker from a consumer budget (LECTERN_CONSUMERS_PER_WORKER), and the optional per-class cap. */
export function roomCapacity(consumersPerWorker: number, maxViewersPerClass: number | undefined): RoomCapacity {
  return { seatsPerWorker: Math.max(1, Math.floor(consumersPerWorker / CONSUMERS_PER_STUDENT)), maxViewersPerClass };
}
