// Chat broadcasts of every class, coalesced Nagle-style. Each broadcast costs one WebSocket frame per member,
// so a busy class of 2000 at 50 messages/s would cost 100k frames/s on the server and on every client's side.
// The first message after a quiet period goes out at once (a quiet chat gains no latency); messages arriving
// in the next window are collected and go out together, as ONE `chat:messages` event, when the window ends.
// A window that ends with nothing collected closes: the class is quiet again.
//
// Batches are per class and per process: each process coalesces what its own members send and emits to the
// class room, so the Redis adapter still carries every batch to the members connected elsewhere.
import { InteractionEvents, type ChatMessage } from '../contracts/interaction.ts';
import { classRoom } from './class-membership.ts';
import type { LecternIo } from './socket-server.ts';

/**
 * How long a class's chat keeps collecting after a broadcast: a message waits at most this long on top of its
 * delivery. Chosen from `npm run bench -- chat` (2000 clients, 50 msg/s, 2 cores): 15, 25, 30, 40 and 50 ms
 * all gave p99 115-170 ms (25-40 within run-to-run noise), 40 ms with the least CPU (about 15 frames/s per
 * member instead of 50; server 0.55 core instead of 0.96); 15 ms sends more frames and is slower again.
 */
export const CHAT_BATCH_WINDOW_MS = 40;

interface ClassWindow {
  /** Ends the current window: broadcasts what it collected, or closes the window if nothing came. */
  timer: NodeJS.Timeout | undefined;
  pending: ChatMessage[];
  /** Members of the class connected to this process (the window lives no longer than they do). */
  members: number;
}

/** Owns the chat batching windows (and their timers) of every class in this process. */
export class ChatFanOut {
  readonly #io: LecternIo;
  readonly #windowMs: number;
  readonly #classes = new Map<string, ClassWindow>();
  #closed = false;

  constructor(io: LecternIo, windowMs = CHAT_BATCH_WINDOW_MS) {
    this.#io = io;
    this.#windowMs = windowMs;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether the class's window is open (collecting what comes next) rather than quiet. */
  collecting(classId: string): boolean {
    return this.#classes.get(classId)?.timer !== undefined;
  }

  /** A member of `classId` joined in this process. */
  enter(classId: string): void {
    if (this.#closed) return;
    const entry = this.#classes.get(classId);
    if (entry) entry.members++;
    else this.#classes.set(classId, { timer: undefined, pending: [], members: 1 });
  }

  /** A member left; when the last one of this process goes, what is collected goes out now and the timer stops. */
  leave(classId: string): void {
    const entry = this.#classes.get(classId);
    if (!entry) return;
    entry.members--;
    if (entry.members > 0) return;
    this.#end(classId, entry);
  }

  /** Broadcasts a new message to the class: at once after a quiet period, else with the current window's batch. */
  send(classId: string, message: ChatMessage): void {
    if (this.#closed) return;
    let entry = this.#classes.get(classId);
    // A message from a member who left while it was being stored: nobody here holds a window for it.
    if (!entry) this.#classes.set(classId, (entry = { timer: undefined, pending: [], members: 0 }));
    if (entry.timer) {
      entry.pending.push(message);
      return;
    }
    this.#broadcast(classId, [message]);
    this.#arm(classId, entry);
  }

  /**
   * Broadcasts what the class's window collected so far (the window stays open): called before an event that
   * must reach members after those messages, such as a deletion of one of them.
   */
  flush(classId: string): void {
    const entry = this.#classes.get(classId);
    if (entry && entry.pending.length > 0) this.#broadcast(classId, entry.pending.splice(0));
  }

  /** Broadcasts every collected batch and stops every timer (before the Socket.io server closes). */
  close(): void {
    if (this.#closed) return;
    for (const [classId, entry] of this.#classes) this.#end(classId, entry);
    this.#closed = true;
  }

  #arm(classId: string, entry: ClassWindow): void {
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.pending.length === 0) {
        if (entry.members <= 0) this.#classes.delete(classId);
        return;
      }
      this.#broadcast(classId, entry.pending.splice(0));
      this.#arm(classId, entry);
    }, this.#windowMs);
    entry.timer.unref();
  }

  #end(classId: string, entry: ClassWindow): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    if (entry.pending.length > 0) this.#broadcast(classId, entry.pending.splice(0));
    this.#classes.delete(classId);
  }

  #broadcast(classId: string, messages: ChatMessage[]): void {
    this.#io.to(classRoom(classId)).emit(InteractionEvents.chatMessages, messages);
  }
}
