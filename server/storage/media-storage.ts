// Where the media of replays and lesson videos is kept and read from: files are made on this machine's disk
// (the bridge and the transcoder write there) and, when an S3-compatible store is configured, uploaded to it
// once finished, so that every node can serve them. Reads look on this machine first, then in the store: a
// replay or lesson whose upload is pending or under way plays from its local copy, which is removed only
// once everything is in the store. An upload that fails (the store is down) is retried with a growing
// pause, and again at the next start (whatever finished media is still on disk is pending).
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AwaitQueue } from 'awaitqueue';
import type { Logger } from '../log.ts';
import { DiskStore } from './disk-store.ts';
import type { ByteRange, ObjectStore, StoredObject } from './object-store.ts';

export interface MediaStorageOptions {
  /** The data directory: keys are paths under it on this machine. */
  dataDir: string;
  /** The S3-compatible store, when configured. */
  remote: ObjectStore | null;
  log: Logger;
  /** Pause before retrying a failed upload, doubling up to retryMaxMs (defaults 5 s and 5 min). */
  retryMs?: number;
  retryMaxMs?: number;
}

interface Upload {
  prefix: string;
  /** Remove objects under the prefix that the local copy no longer has (a replaced lesson video). */
  replace: boolean;
  failures: number;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  cancelled: boolean;
  done: PromiseWithResolvers<void>;
}

/** Files uploaded side by side. */
const UPLOAD_PARALLEL = 4;
/** Largest text file (a playlist, a caption description) read whole. */
const MAX_TEXT_BYTES = 8 * 1024 * 1024;

class UploadCancelled extends Error {}

export class MediaStorage {
  readonly local: DiskStore;
  readonly remote: ObjectStore | null;
  readonly #o: MediaStorageOptions;
  readonly #uploads = new Map<string, Upload>();
  /** One upload at a time: finishing one replay soon beats starting many. */
  readonly #queue = new AwaitQueue();
  #closed = false;

  constructor(options: MediaStorageOptions) {
    this.#o = options;
    this.local = new DiskStore(options.dataDir);
    this.remote = options.remote;
  }

  /** The object (or the asked range), from this machine's copy when it has one, else from the store; null when neither has it. */
  async get(key: string, range?: ByteRange): Promise<StoredObject | null> {
    return (await this.local.get(key, range)) ?? (await this.remote?.get(key, range)) ?? null;
  }

  /** A small text file whole (a playlist), or null. */
  async readText(key: string): Promise<string | null> {
    const found = await this.get(key);
    return found && (await readAll(found.body, MAX_TEXT_BYTES)).toString('utf8');
  }

  /** Stores a small file made after the media (a caption track): in the store when there is one, replacing any local copy. */
  async put(key: string, body: string | Uint8Array): Promise<void> {
    if (!this.remote) return this.local.put(key, body);
    await this.remote.put(key, body);
    await this.local.remove(key);
  }

  async remove(key: string): Promise<void> {
    await this.local.remove(key);
    await this.remote?.remove(key);
  }

  /** Removes everything under `prefix`, here and in the store (an upload of it under way is stopped first). */
  async deletePrefix(prefix: string): Promise<void> {
    const stopping = [...this.#uploads.values()].filter((u) => u.prefix === prefix || u.prefix.startsWith(`${prefix}/`));
    for (const u of stopping) this.#cancel(u);
    await Promise.allSettled(stopping.map((u) => u.running));
    await this.local.deletePrefix(prefix);
    await this.remote?.deletePrefix(prefix);
    for (const u of stopping) u.done.resolve();
  }

  /**
   * Brings every file under `prefix` back to this machine (to write more into it, e.g. a recording its class
   * continues), stopping an upload of it first; upload() again once done.
   */
  async restore(prefix: string): Promise<void> {
    const upload = this.#uploads.get(prefix);
    if (upload) {
      this.#cancel(upload);
      await Promise.allSettled([upload.running]);
      upload.done.resolve();
    }
    if (!this.remote) return;
    const here = new Set((await this.local.list(prefix)).map((e) => e.key));
    for (const entry of await this.remote.list(prefix)) {
      if (here.has(entry.key)) continue;
      const found = await this.remote.get(entry.key);
      if (!found) continue;
      const file = this.local.pathOf(entry.key);
      await fs.mkdir(path.dirname(file), { recursive: true });
      await pipeline(found.body, createWriteStream(`${file}.restore.tmp`));
      await fs.rename(`${file}.restore.tmp`, file);
    }
  }

  /** Bytes kept under `prefix` (a file both here and in the store counts once). */
  async sizeOfPrefix(prefix: string): Promise<number> {
    const sizes = new Map<string, number>();
    for (const store of [this.local, this.remote]) {
      for (const e of (await store?.list(prefix)) ?? []) sizes.set(e.key, Math.max(sizes.get(e.key) ?? 0, e.size));
    }
    let total = 0;
    for (const size of sizes.values()) total += size;
    return total;
  }

  /**
   * Uploads the finished files under `prefix` to the store (nothing to do without one) and then removes
   * them here. Returns at once; `uploaded(prefix)` waits for it. `replace`: objects under the prefix that the
   * local files no longer include are removed from the store too.
   */
  upload(prefix: string, options: { replace?: boolean } = {}): void {
    if (!this.remote || this.#closed) return;
    const queued = this.#uploads.get(prefix);
    if (queued) {
      queued.replace ||= options.replace ?? false;
      return;
    }
    const u: Upload = {
      prefix,
      replace: options.replace ?? false,
      failures: 0,
      timer: undefined,
      running: undefined,
      cancelled: false,
      done: Promise.withResolvers<void>(),
    };
    this.#uploads.set(prefix, u);
    this.#attempt(u);
  }

  /** Resolves once the upload of `prefix` (if any) has finished or was cancelled. */
  uploaded(prefix: string): Promise<void> {
    return this.#uploads.get(prefix)?.done.promise ?? Promise.resolve();
  }

  /** Prefixes waiting to be uploaded (retrying included). */
  get pendingUploads(): string[] {
    return [...this.#uploads.keys()];
  }

  /** Stops uploading (the local copies stay and are uploaded at the next start). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const uploads = [...this.#uploads.values()];
    for (const u of uploads) this.#cancel(u);
    await Promise.allSettled(uploads.map((u) => u.running));
    this.#queue.stop();
    for (const u of uploads) u.done.resolve();
  }

  #cancel(u: Upload): void {
    u.cancelled = true;
    clearTimeout(u.timer);
    this.#uploads.delete(u.prefix);
  }

  #attempt(u: Upload): void {
    if (u.cancelled) return;
    u.running = this.#queue
      .push(() => this.#copy(u), `upload ${u.prefix}`)
      .then(
        () => {
          this.#uploads.delete(u.prefix);
          u.done.resolve();
        },
        (err: unknown) => {
          if (u.cancelled || err instanceof UploadCancelled) return;
          u.failures += 1;
          const retryMs = Math.min((this.#o.retryMs ?? 5000) * 2 ** (u.failures - 1), this.#o.retryMaxMs ?? 300_000);
          this.#o.log.warn(
            { prefix: u.prefix, failures: u.failures, retryInSeconds: retryMs / 1000, err: (err as Error).message },
            'upload to object storage failed; the local copy is served meanwhile',
          );
          u.timer = setTimeout(() => this.#attempt(u), retryMs);
          u.timer.unref();
        },
      );
  }

  async #copy(u: Upload): Promise<void> {
    const remote = this.remote!;
    const files = (await this.local.list(u.prefix)).filter((f) => !f.key.endsWith('.tmp'));
    const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
    const log = this.#o.log.child({ prefix: u.prefix, store: remote.name });
    log.info({ files: files.length, totalBytes, attempt: u.failures + 1 }, 'upload to object storage started');
    const started = Date.now();
    let sentBytes = 0;
    let sentFiles = 0;
    let lastReport = started;
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (next < files.length && !failed) {
        if (u.cancelled) throw new UploadCancelled();
        const file = files[next++]!;
        await remote.putFile(file.key, this.local.pathOf(file.key)).catch((err: unknown) => {
          failed = true;
          throw err;
        });
        sentBytes += file.size;
        sentFiles += 1;
        if (Date.now() - lastReport >= 5000) {
          lastReport = Date.now();
          log.info(
            { files: sentFiles, of: files.length, percent: Math.floor((sentBytes / Math.max(totalBytes, 1)) * 100) },
            'upload progress',
          );
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(UPLOAD_PARALLEL, files.length) }, worker));
    if (u.replace) {
      const kept = new Set(files.map((f) => f.key));
      for (const stale of (await remote.list(u.prefix)).filter((e) => !kept.has(e.key))) await remote.remove(stale.key);
    }
    if (u.cancelled) throw new UploadCancelled();
    // Everything is in the store: this machine's copy goes (readers holding a file open finish reading it).
    await this.local.deletePrefix(u.prefix);
    log.info({ files: files.length, totalBytes, seconds: (Date.now() - started) / 1000 }, 'upload to object storage finished');
  }
}

/** Reads a stream whole, refusing more than `limit` bytes. */
export async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    length += (chunk as Buffer).length;
    if (length > limit) {
      stream.destroy();
      throw new Error(`More than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
