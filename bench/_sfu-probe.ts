// The server's side of the latency bench's SFU path, read from mediasoup directly (the bench's server runs in
// the bench's process): what the student's video consumer did over the measured window (layer switches, the
// layers it forwarded, key frames it asked the teacher for) and what the bandwidth estimator of the student's
// transport allowed. It explains a slow or frozen path the browsers' own counters cannot: a consumer that
// dropped to a lower layer under loss, or an estimate that fell below the top layer's bitrate.
import type { types } from 'mediasoup';
import type { ClassroomRoom } from '../server/sfu/classroom-room.ts';

export interface SfuProbeResult {
  /** Spatial layer changes the consumer made (each switch up waits for a key frame of the new layer). */
  spatialSwitches: number;
  /** Temporal layer changes alone (frame rate; no key frame needed). */
  temporalSwitches: number;
  /** The lowest spatial layer it forwarded (-1: none) and the one it forwarded at the end. */
  lowestSpatialLayer: number;
  endSpatialLayer: number;
  /** The student transport's outgoing bandwidth estimate (kbit/s): lowest and mean of one sample a second. */
  bweMinKbps: number;
  bweMeanKbps: number;
  /** PLIs (and FIRs) the student sent the server, and the key frame requests the server sent the teacher. */
  pliFromStudent: number;
  pliToTeacher: number;
  /** NACKs the student sent the server, and the packets the server retransmitted. */
  nackFromStudent: number;
  retransmitted: number;
  /** Packets the server's consumer sent, all layers and RTX included. */
  sent: number;
  /** One sample a second: the layers forwarded ("spatial:temporal"), the estimate and the teacher's layers (kbit/s). */
  timeline: string[];
}

interface Counts {
  pli: number;
  nack: number;
  retransmitted: number;
  sent: number;
  pliToTeacher: number;
}

export class SfuProbe {
  readonly #consumer: types.Consumer;
  readonly #transport: types.Transport;
  readonly #producer: types.Producer;
  #spatialSwitches = 0;
  #temporalSwitches = 0;
  #layers: types.ConsumerLayers | undefined;
  #lowest = Number.POSITIVE_INFINITY;
  readonly #bwe: number[] = [];
  readonly #timeline: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #start: Counts | undefined;
  readonly #onLayers = (layers?: types.ConsumerLayers): void => {
    if ((layers?.spatialLayer ?? -1) !== (this.#layers?.spatialLayer ?? -1)) this.#spatialSwitches++;
    else this.#temporalSwitches++;
    this.#layers = layers;
    this.#lowest = Math.min(this.#lowest, layers?.spatialLayer ?? -1);
  };

  private constructor(consumer: types.Consumer, transport: types.Transport, producer: types.Producer) {
    this.#consumer = consumer;
    this.#transport = transport;
    this.#producer = producer;
  }

  /** The probe of the student's camera consumer in `room` (the bench has one student and one teacher). */
  static find(room: ClassroomRoom): SfuProbe {
    const student = room.peers().find((p) => p.role === 'student');
    const consumer = [...(student?.consumers.values() ?? [])].find((c) => c.kind === 'video');
    const transport = [...(student?.transports.values() ?? [])].find((t) => t.appData.direction === 'recv');
    const producer = room.mediaSources().find((s) => s.producer.id === consumer?.producerId)?.producer;
    if (!consumer || !transport || !producer) throw new Error('The bench student has no video consumer on the server');
    return new SfuProbe(consumer, transport, producer);
  }

  async start(): Promise<void> {
    this.#start = await this.#counts();
    this.#layers = this.#consumer.currentLayers;
    this.#lowest = this.#layers?.spatialLayer ?? -1;
    this.#consumer.on('layerschange', this.#onLayers);
    this.#timer = setInterval(() => {
      void this.#transport
        .getStats()
        .then(async (stats) => {
          const bwe = (stats[0] as { availableOutgoingBitrate?: number } | undefined)?.availableOutgoingBitrate;
          if (typeof bwe === 'number') this.#bwe.push(bwe);
          const l = this.#layers;
          // What the teacher sends on each layer (kbit/s, lowest first), beside what the student gets.
          const sending = this.#producer.closed ? [] : await this.#producer.getStats();
          const teacher = [...sending]
            .sort((a, b) => (a.rid ?? '').localeCompare(b.rid ?? ''))
            .map((p) => Math.round(p.bitrate / 1000))
            .join('/');
          this.#timeline.push(
            `${l ? `${l.spatialLayer}:${l.temporalLayer ?? '-'}` : 'none'} bwe ${Math.round((bwe ?? 0) / 1000)} teacher ${teacher}`,
          );
        })
        .catch(() => {});
    }, 1000);
  }

  async stop(): Promise<SfuProbeResult> {
    clearInterval(this.#timer);
    this.#consumer.off('layerschange', this.#onLayers);
    const end = await this.#counts();
    const start = this.#start ?? end;
    return {
      spatialSwitches: this.#spatialSwitches,
      temporalSwitches: this.#temporalSwitches,
      lowestSpatialLayer: Number.isFinite(this.#lowest) ? this.#lowest : -1,
      endSpatialLayer: this.#consumer.currentLayers?.spatialLayer ?? -1,
      bweMinKbps: this.#bwe.length ? Math.round(Math.min(...this.#bwe) / 1000) : NaN,
      bweMeanKbps: this.#bwe.length ? Math.round(this.#bwe.reduce((a, b) => a + b, 0) / this.#bwe.length / 1000) : NaN,
      pliFromStudent: end.pli - start.pli,
      pliToTeacher: end.pliToTeacher - start.pliToTeacher,
      nackFromStudent: end.nack - start.nack,
      retransmitted: end.retransmitted - start.retransmitted,
      sent: end.sent - start.sent,
      timeline: this.#timeline,
    };
  }

  async #counts(): Promise<Counts> {
    const out: Counts = { pli: 0, nack: 0, retransmitted: 0, sent: 0, pliToTeacher: 0 };
    if (this.#consumer.closed || this.#producer.closed) return out;
    for (const s of await this.#consumer.getStats()) {
      if (s.type !== 'outbound-rtp') continue;
      const send = s as types.ConsumerStat;
      out.pli += send.pliCount + send.firCount;
      out.nack += send.nackCount;
      out.retransmitted += send.packetsRetransmitted;
      out.sent += send.packetCount;
    }
    for (const s of await this.#producer.getStats()) out.pliToTeacher += s.pliCount + s.firCount;
    return out;
  }
}
