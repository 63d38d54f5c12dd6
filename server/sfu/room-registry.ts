// The classroom rooms of this process, by class id: where a room is made (its Router on the least-loaded worker)
// and found. Only the live class opens and closes its room (classes/live-class-lifecycle.ts); opening is
// idempotent and safe under concurrency; a room that closes leaves the registry.
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.ts';
import type { WorkerPool } from './worker-pool.ts';
import { ClassroomRoom, type RoomCapacity } from './classroom-room.ts';

type RoomRegistryEvents = {
  roomopen: [ClassroomRoom];
  roomclose: [ClassroomRoom];
};

export class RoomRegistry extends EventEmitter<RoomRegistryEvents> {
  readonly #workers: WorkerPool;
  readonly #capacity: RoomCapacity;
  readonly #log: Logger;
  readonly #rooms = new Map<string, ClassroomRoom>();
  readonly #opening = new Map<string, Promise<ClassroomRoom>>();
  #closed = false;

  constructor(workers: WorkerPool, capacity: RoomCapacity, log: Logger) {
    super();
    this.setMaxListeners(0);
    this.#workers = workers;
    this.#capacity = capacity;
    this.#log = log;
  }

  get(classId: string): ClassroomRoom | undefined {
    return this.#rooms.get(classId);
  }

  /**
   * The class's room, creating its Router on the least-loaded worker when it has none yet; `fedFrom` makes a new
   * room an edge of the class's origin on that node (cluster).
   */
  open(classId: string, fedFrom?: string): Promise<ClassroomRoom> {
    if (this.#closed) return Promise.reject(new Error('The room registry is closed'));
    const existing = this.#rooms.get(classId);
    if (existing) return Promise.resolve(existing);
    let opening = this.#opening.get(classId);
    if (!opening) {
      opening = ClassroomRoom.create(classId, this.#workers, this.#log, this.#capacity, fedFrom)
        .then((room) => {
          if (this.#closed) {
            room.close();
            throw new Error('The room registry is closed');
          }
          this.#rooms.set(classId, room);
          room.once('close', () => {
            if (this.#rooms.get(classId) === room) this.#rooms.delete(classId);
            this.emit('roomclose', room);
          });
          this.#log.info({ classId, routerId: room.router.id, fedFrom }, 'classroom room opened');
          this.emit('roomopen', room);
          return room;
        })
        .finally(() => this.#opening.delete(classId));
      this.#opening.set(classId, opening);
    }
    return opening;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const room of [...this.#rooms.values()]) room.close();
  }
}
