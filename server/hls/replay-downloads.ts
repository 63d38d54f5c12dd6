// The MP4 download of each replay: once a recording is finalised (ready), its top rendition is remuxed into
// download.mp4 beside its playlists (mp4-remux.ts: no re-encoding), one recording at a time, with its status
// and percent on the recording's row for the replay page to show. A recording that is continued (its class
// records on after a restart) or deleted meanwhile drops the MP4 being made; downloads a stopped process left
// unfinished are made at start-up.
import { AwaitQueue } from 'awaitqueue';
import fs from 'node:fs/promises';
import path from 'node:path';
import { and, eq, inArray } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { recordings, type Recording } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import type { MediaStorage } from '../storage/media-storage.ts';
import { remuxToMp4, type Mp4Chapter } from './mp4-remux.ts';
import { DOWNLOAD_FILE, RunOutput } from './run-output.ts';

export interface ReplayDownloadsOptions {
  db: Database;
  ffmpegPath: string;
  /** Where a recording's files are (Recordings.location): its directory here, its prefix in media storage. */
  locate: (recordingId: string) => Promise<{ dir: string; prefix: string } | undefined>;
  /**
   * Media storage: a replay already uploaded to the object store comes back to this machine to be remuxed, and
   * goes up again with its MP4.
   */
  storage: Pick<MediaStorage, 'restore' | 'upload'>;
  /** The replay's chapters, written into the MP4 (none when not given). */
  chapters?: (recording: Recording) => Promise<readonly Mp4Chapter[]>;
  log: Logger;
}

/** Percent steps worth a row update: the page polls, nobody needs every percent written. */
const PERCENT_STEP = 5;
const WORK_DIR = '.download';

export class ReplayDownloads {
  readonly #o: ReplayDownloadsOptions;
  readonly #queue = new AwaitQueue();
  readonly #queued = new Set<string>();
  /** Asked for again while queued or being made. */
  readonly #again = new Set<string>();
  #current: { recordingId: string; abort: AbortController; finished: Promise<void> } | null = null;
  #closed = false;

  constructor(options: ReplayDownloadsOptions) {
    this.#o = options;
  }

  /**
   * Queues the MP4 of a ready recording (status `pending` until its turn); once per recording at a time (asked
   * again meanwhile, e.g. its chapters changed, it is made again after).
   */
  async request(recordingId: string): Promise<void> {
    if (this.#closed) return;
    if (this.#queued.has(recordingId)) return void this.#again.add(recordingId);
    const [row] = await this.#o.db
      .update(recordings)
      .set({ downloadStatus: 'pending', downloadPercent: 0, downloadError: null })
      .where(and(eq(recordings.id, recordingId), eq(recordings.status, 'ready')))
      .returning({ id: recordings.id });
    if (!row || this.#closed) return;
    this.#queued.add(recordingId);
    void this.#queue
      .push(() => this.#make(recordingId), `download ${recordingId}`)
      .catch((err: unknown) => this.#o.log.error({ err, recordingId }, 'replay download step failed'))
      .finally(() => {
        this.#queued.delete(recordingId);
        if (this.#again.delete(recordingId)) void this.request(recordingId);
      });
  }

  /** Queues the downloads of ready recordings that have none yet or whose making a stopped process left. */
  async resume(): Promise<number> {
    const rows = await this.#o.db
      .select({ id: recordings.id })
      .from(recordings)
      .where(and(eq(recordings.status, 'ready'), inArray(recordings.downloadStatus, ['none', 'pending', 'processing'])));
    for (const r of rows) await this.request(r.id);
    if (rows.length) this.#o.log.info({ count: rows.length }, 'replay downloads queued');
    return rows.length;
  }

  /**
   * Stops the MP4 being made of a recording (it is continued or deleted) and waits until its ffmpeg and files
   * are gone; its row is its owner's to change.
   */
  async cancel(recordingId: string): Promise<void> {
    const current = this.#current;
    if (current?.recordingId !== recordingId) return;
    current.abort.abort();
    await current.finished;
  }

  /** Stops the one being made (it is made again at the next start) and drops the queue. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const current = this.#current;
    current?.abort.abort();
    this.#queue.stop();
    await current?.finished;
  }

  async #make(recordingId: string): Promise<void> {
    if (this.#closed) return;
    const db = this.#o.db;
    const log = this.#o.log.child({ recordingId });
    const where = await this.#o.locate(recordingId);
    if (!where) return;
    const [started] = await db
      .update(recordings)
      .set({ downloadStatus: 'processing', downloadPercent: 0 })
      .where(and(eq(recordings.id, recordingId), eq(recordings.status, 'ready'), eq(recordings.downloadStatus, 'pending')))
      .returning();
    if (!started) return;
    // Only while the recording stays as it was when this began (ready, this download being made).
    const unchanged = and(eq(recordings.id, recordingId), eq(recordings.status, 'ready'), eq(recordings.downloadStatus, 'processing'));
    const abort = new AbortController();
    let finish = () => {};
    this.#current = { recordingId, abort, finished: new Promise<void>((resolve) => (finish = resolve)) };
    const workDir = path.join(where.dir, WORK_DIR);
    const file = path.join(where.dir, DOWNLOAD_FILE);
    let written = 0;
    let saving = Promise.resolve();
    try {
      // Already uploaded (made again after a restart): its files come back. An unreachable store only matters
      // when files are missing here, which the remux then says.
      await this.#o.storage.restore(where.prefix).catch((err: unknown) => log.warn({ err }, 'could not restore the replay from storage'));
      const output = await RunOutput.open(where.dir);
      const top = output?.ladder?.[0];
      if (!output || !top) throw new Error('The recording has no media to download');
      const chapters = (await this.#o.chapters?.(started)) ?? [];
      await remuxToMp4({
        ffmpegPath: this.#o.ffmpegPath,
        rungDir: path.join(output.dir, top.name),
        runs: await output.runSegments(top.name),
        workDir,
        output: file,
        durationSeconds: started.durationSeconds,
        chapters,
        signal: abort.signal,
        onProgress: (percent) => {
          if (percent < written + PERCENT_STEP || percent >= 100) return;
          written = percent;
          saving = saving.then(async () => {
            await db.update(recordings).set({ downloadPercent: percent }).where(unchanged);
          });
        },
      });
      await saving;
      const size = (await fs.stat(file)).size;
      const [done] = await db
        .update(recordings)
        .set({ downloadStatus: 'ready', downloadPercent: 100, downloadSizeBytes: size })
        .where(unchanged)
        .returning({ id: recordings.id });
      // Continued or deleted meanwhile: this MP4 is of a replay that is no more.
      if (!done) await fs.rm(file, { force: true });
      else log.info({ sizeBytes: size }, 'replay download ready');
    } catch (err) {
      await saving;
      const message = (err as Error).message;
      if (abort.signal.aborted) {
        log.info('replay download stopped');
        // A process stopping leaves it `processing`: the next one makes it (resume()).
        return;
      }
      log.warn({ err: message }, 'replay download failed');
      await db
        .update(recordings)
        .set({ downloadStatus: 'failed', downloadError: message.slice(0, 500) })
        .where(unchanged);
    } finally {
      this.#current = null;
      finish();
      // Up to the object store again, MP4 included, unless the class records on into it (its bridge writes here).
      const [row] = await db.select({ status: recordings.status }).from(recordings).where(eq(recordings.id, recordingId));
      if (row?.status === 'ready') this.#o.storage.upload(where.prefix);
    }
  }
}
