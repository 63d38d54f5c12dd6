// The application side of /metrics: Socket.io connections, class interaction (chat messages, questions, votes)
// the lesson-video transcode jobs (queued, running, failed; how long they take), and uploads of finished media
// to object storage still pending in this process.
import { count } from 'drizzle-orm';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Database } from '../db/client.ts';
import { transcodeJobs } from '../db/schema.ts';

/** What the interaction features report (registerInteraction): one call per accepted action. */
export interface InteractionTally {
  chatMessage(): void;
  question(): void;
  vote(kind: 'poll' | 'question'): void;
}

export interface ActivityMetricsOptions {
  registry: Registry;
  db: Database;
  /** Sockets connected to this process right now. */
  socketConnections: () => number;
  /** Replays and lesson videos this process has yet to upload to object storage (retrying included). */
  pendingUploads: () => number;
}

const JOB_STATES = ['queued', 'running', 'ready', 'failed'] as const;

export class ActivityMetrics {
  /** Counts class interaction; handed to the interaction features. */
  readonly tally: InteractionTally;
  readonly #transcodeSeconds: Histogram<'outcome'>;

  constructor({ registry, db, socketConnections, pendingUploads }: ActivityMetricsOptions) {
    const registers = [registry];
    new Gauge({
      name: 'lectern_socket_connections',
      help: 'Socket.io connections open on this process',
      registers,
      collect() {
        this.set(socketConnections());
      },
    });
    new Gauge({
      name: 'lectern_storage_pending_uploads',
      help: 'Replays and lesson videos waiting to be uploaded to object storage from this process (a store down keeps them here)',
      registers,
      collect() {
        this.set(pendingUploads());
      },
    });
    const chat = new Counter({ name: 'lectern_chat_messages_total', help: 'Chat messages accepted', registers });
    const questions = new Counter({ name: 'lectern_questions_total', help: 'Questions asked', registers });
    const votes = new Counter({
      name: 'lectern_votes_total',
      help: 'Votes cast: poll ballots and question upvotes',
      labelNames: ['kind'],
      registers,
    });
    for (const kind of ['poll', 'question']) votes.inc({ kind }, 0);
    this.tally = {
      chatMessage: () => chat.inc(),
      question: () => questions.inc(),
      vote: (kind) => votes.inc({ kind }),
    };
    // Jobs by state, from the table that is their whole state (every process's jobs): one grouped count per scrape.
    new Gauge({
      name: 'lectern_transcode_jobs',
      help: 'Lesson-video transcode jobs by state (queued, running, ready, failed)',
      labelNames: ['state'],
      registers,
      async collect() {
        const rows = await db.select({ state: transcodeJobs.status, n: count() }).from(transcodeJobs).groupBy(transcodeJobs.status);
        for (const state of JOB_STATES) this.set({ state }, rows.find((r) => r.state === state)?.n ?? 0);
      },
    });
    this.#transcodeSeconds = new Histogram({
      name: 'lectern_transcode_duration_seconds',
      help: 'How long a transcode job ran, by outcome',
      labelNames: ['outcome'],
      buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 2400, 3600],
      registers,
    });
  }

  /** A transcode job finished (TranscodeQueue's `finished` event). */
  observeTranscode(outcome: 'ready' | 'failed', seconds: number): void {
    this.#transcodeSeconds.observe({ outcome }, seconds);
  }
}
