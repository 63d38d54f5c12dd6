// What the class roster (presence-store.ts) keeps for nodes that are no longer there. A node reported gone: its
// members leave the roster (once: whichever node gets them first) and their classes (presence pushed again,
// attendance closed, the teacher's grace period if they were only there). At start: what this node's name left
// (killed, and started again under the same name before anyone saw it gone), and what nodes no longer alive left
// unseen (the whole cluster restarted under new names). Redis came back without this node's members (restarted
// empty): the store records them again, and the classes' presence is told again at once and once more when the
// other nodes have had time to record theirs and their Socket.io adapter connections are back (a push published
// before another node's subscriber is back never reaches its clients). Owns its listeners and that timer.
import type { LiveClassLifecycle } from '../classes/live-class-lifecycle.ts';
import type { Logger } from '../log.ts';
import type { NodeRegistry } from './node-registry.ts';
import type { PresenceStore } from './presence-store.ts';

/** After Redis came back: how long until every live node has reconnected and written its members back (three beats). */
const PRESENCE_SETTLE_MS = 6000;

export class NodeDepartures {
  readonly #roster: PresenceStore;
  readonly #nodes: NodeRegistry;
  readonly #liveClasses: Pick<LiveClassLifecycle, 'departed' | 'pushPresence'>;
  readonly #log: Logger;
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  readonly #onGone = (node: string): void => {
    this.#clear(node).catch((err: unknown) => this.#log.warn({ err, node }, 'could not clear the class members of a node that is gone'));
  };

  readonly #onRestored = (classIds: string[]): void => {
    const push = (): void => {
      if (!this.#closed) for (const classId of classIds) this.#liveClasses.pushPresence(classId);
    };
    push();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      push();
    }, PRESENCE_SETTLE_MS);
    timer.unref();
    this.#timers.add(timer);
  };

  constructor(options: {
    roster: PresenceStore;
    nodes: NodeRegistry;
    liveClasses: Pick<LiveClassLifecycle, 'departed' | 'pushPresence'>;
    log: Logger;
  }) {
    this.#roster = options.roster;
    this.#nodes = options.nodes;
    this.#liveClasses = options.liveClasses;
    this.#log = options.log;
  }

  /** Listens, then clears what this node's name and nodes no longer alive left. */
  async start(): Promise<void> {
    this.#nodes.on('gone', this.#onGone);
    this.#roster.on('restored', this.#onRestored);
    await this.#clear(this.#roster.nodeName);
    for (const node of await this.#roster.recordedNodes()) if (!this.#nodes.isAlive(node)) await this.#clear(node);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#nodes.off('gone', this.#onGone);
    this.#roster.off('restored', this.#onRestored);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  async #clear(node: string): Promise<void> {
    const members = await this.#roster.removeNode(node);
    if (members.length) this.#log.info({ node, members: members.length }, 'the class members of a node that is gone leave their classes');
    await this.#liveClasses.departed(members);
  }
}
