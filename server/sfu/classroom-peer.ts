// One connected user in a live class (one socket): it owns its WebRTC transports, and through them its
// producers and consumers. Closing the peer closes the transports, which closes everything on them.
import { EventEmitter } from 'node:events';
import type { types } from 'mediasoup';
import type { ClassRole } from '../contracts/live-class.ts';

export interface ClassroomPeerInfo {
  /** The socket id: one peer per connection, so a second tab is a second peer. */
  id: string;
  userId: string;
  displayName: string;
  role: ClassRole;
  /** Whether the user is on stage now (asked, never stored here: the live class keeps who is on stage). */
  onStage?: () => boolean;
}

type ClassroomPeerEvents = {
  /** A consumer went away on the server's side (its producer closed, or its transport). */
  consumerclose: [consumerId: string, producerId: string];
  /** The producer behind a consumer was paused or resumed (a muted mic, a camera turned off). */
  consumerpause: [consumerId: string, producerId: string];
  consumerresume: [consumerId: string, producerId: string];
  close: [];
};

export class ClassroomPeer extends EventEmitter<ClassroomPeerEvents> {
  readonly id: string;
  readonly userId: string;
  readonly displayName: string;
  readonly role: ClassRole;
  /** Set by sfu:join; consumers are only created for codecs the device can decode. */
  rtpCapabilities: types.RtpCapabilities | undefined;
  readonly transports = new Map<string, types.WebRtcTransport>();
  readonly producers = new Map<string, types.Producer>();
  readonly consumers = new Map<string, types.Consumer>();
  readonly #onStage: () => boolean;
  #closed = false;

  constructor(info: ClassroomPeerInfo) {
    super();
    this.id = info.id;
    this.userId = info.userId;
    this.displayName = info.displayName;
    this.role = info.role;
    this.#onStage = info.onStage ?? (() => false);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Teachers publish; students only while on stage. */
  get mayProduce(): boolean {
    return this.role === 'teacher' || this.#onStage();
  }

  addTransport(transport: types.WebRtcTransport): void {
    this.transports.set(transport.id, transport);
    transport.observer.once('close', () => this.transports.delete(transport.id));
  }

  addProducer(producer: types.Producer): void {
    this.producers.set(producer.id, producer);
    producer.observer.once('close', () => this.producers.delete(producer.id));
  }

  addConsumer(consumer: types.Consumer): void {
    this.consumers.set(consumer.id, consumer);
    const producerId = consumer.producerId;
    consumer.observer.once('close', () => {
      this.consumers.delete(consumer.id);
      if (!this.#closed) this.emit('consumerclose', consumer.id, producerId);
    });
    consumer.on('producerpause', () => this.emit('consumerpause', consumer.id, producerId));
    consumer.on('producerresume', () => this.emit('consumerresume', consumer.id, producerId));
  }

  /** The user left the stage (or was taken off it): what it publishes and its send side close; it keeps receiving. */
  leaveStage(): void {
    for (const producer of [...this.producers.values()]) producer.close();
    for (const transport of [...this.transports.values()]) if (transport.appData.direction === 'send') transport.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const transport of [...this.transports.values()]) transport.close();
    this.transports.clear();
    this.producers.clear();
    this.consumers.clear();
    this.emit('close');
  }
}
