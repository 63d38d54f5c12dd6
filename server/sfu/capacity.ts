// How many students one mediasoup worker (one core) carries over WebRTC. The fan-out bench
// (`npm run bench -- fanout`, bench/results/fanout.json, the README's Performance section) measured it on this
// project's 2-core machine with nothing else running (2026-11-29): one worker carried 1,100 consumers (550
// students, the 720p source in 3-layer simulcast) at 65 % of its core and 0.43 % loss; 1,200 lost 3.3 % (audio,
// which has no retransmission). The default is that figure; a machine with other work on its cores, or students
// on higher layers, may want less.
import type { RoomCapacity } from './classroom-room.ts';
import type { ClassSeats } from './class-seats.ts';

/** Video + audio consumers one worker core carries at < 1 % loss, as the fan-out bench measured it. */
export const DEFAULT_CONSUMERS_PER_WORKER = 1100;
/** A student receives the teacher's camera and microphone (a screen share adds two more while it lasts). */
export const CONSUMERS_PER_STUDENT = 2;

/** Seats per worker from a consumer budget (LECTERN_CONSUMERS_PER_WORKER), and the class-wide seats (and cap). */
export function roomCapacity(consumersPerWorker: number, classSeats: ClassSeats): RoomCapacity {
  return { seatsPerWorker: Math.max(1, Math.floor(consumersPerWorker / CONSUMERS_PER_STUDENT)), classSeats };
}
