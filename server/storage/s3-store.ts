// Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, ...) through @aws-sdk/client-s3, under an
// optional key prefix so one bucket can hold several deployments. Requests that fail to reach the store
// throw StorageUnavailable; a missing key is null, as on disk.
import fs from 'node:fs';
import type { Logger } from '../log.ts';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  checkKey,
  contentTypeOf,
  RangeNotSatisfiable,
  rangeHeader,
  resolveRange,
  StorageUnavailable,
  type ByteRange,
  type ObjectStore,
  type StoredEntry,
  type StoredObject,
} from './object-store.ts';

export interface S3StoreOptions {
  /** The service's URL (e.g. http://minio:9000); unset: AWS's own endpoint for the region. */
  endpoint?: string | undefined;
  bucket: string;
  region: string;
  /** Unset: the SDK's usual sources (AWS_* variables, instance roles). */
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  /** bucket in the path (http://host/bucket/key) rather than in the host name: what most self-hosted stores want. */
  forcePathStyle: boolean;
  /** Prepended to every key, e.g. `lectern/`. */
  keyPrefix?: string | undefined;
}

/** DeleteObjects takes at most this many keys. */
const DELETE_BATCH = 1000;

export class S3Store implements ObjectStore {
  readonly name: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  /** `log` gets the SDK's own remarks (at debug: the failures it reports are ours to log, with what failed). */
  constructor(o: S3StoreOptions, log?: Logger) {
    this.#bucket = o.bucket;
    this.#prefix = o.keyPrefix ?? '';
    this.name = `s3://${o.bucket}/${this.#prefix}`;
    this.#client = new S3Client({
      region: o.region,
      forcePathStyle: o.forcePathStyle,
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      ...(o.accessKeyId && o.secretAccessKey ? { credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey } } : {}),
      // Checksums only where S3 requires them: many S3-compatible stores do not understand the newer
      // aws-chunked uploads with trailing checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      // Without a logger of ours the SDK writes some remarks to the console.
      logger: {
        trace: () => {},
        debug: () => {},
        info: () => {},
        warn: (...args: unknown[]) => log?.debug({ sdk: args.map(String).join(' ') }, 'object storage client'),
        error: (...args: unknown[]) => log?.debug({ sdk: args.map(String).join(' ') }, 'object storage client'),
      },
      // A store that does not answer fails the request in seconds rather than holding a viewer (or an upload) forever.
      requestHandler: { connectionTimeout: 3000, requestTimeout: 30_000 },
    });
  }

  async put(key: string, body: string | Uint8Array): Promise<void> {
    await guarded(
      this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), Body: body, ContentType: contentTypeOf(key) })),
      `put ${key}`,
    );
  }

  async putFile(key: string, file: string): Promise<void> {
    const { size } = await fs.promises.stat(file);
    await guarded(
      this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key(key),
          Body: fs.createReadStream(file),
          ContentLength: size,
          ContentType: contentTypeOf(key),
        }),
      ),
      `put ${key}`,
    );
  }

  async get(key: string, range?: ByteRange): Promise<StoredObject | null> {
    if (range && 'suffix' in range) {
      // Asked as first-last bytes: not every S3-compatible store reads suffix ranges (bytes=-N) right.
      const size = await this.#size(key);
      if (size === null) return null;
      const bytes = resolveRange(range, size);
      if (!bytes) throw new RangeNotSatisfiable(size);
      range = bytes;
    }
    let answer;
    try {
      answer = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), ...(range ? { Range: rangeHeader(range) } : {}) }),
      );
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return null;
      if (status === 416) throw new RangeNotSatisfiable((await this.#size(key)) ?? 0);
      throw unavailable(err, `get ${key}`);
    }
    const body = answer.Body as Readable | undefined;
    if (!body) return null;
    const partial = answer.ContentRange ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(answer.ContentRange) : null;
    if (partial) return { body, size: Number(partial[3]), range: { start: Number(partial[1]), end: Number(partial[2]) } };
    const size = answer.ContentLength ?? 0;
    // A store that ignored the range sent it all: say so (the caller answers 200 with the whole object).
    return { body, size };
  }

  /** The object's size; null when there is none. */
  async #size(key: string): Promise<number | null> {
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
      return head.ContentLength ?? 0;
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw unavailable(err, `head ${key}`);
    }
  }

  async remove(key: string): Promise<void> {
    await guarded(this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) })), `remove ${key}`);
  }

  async list(prefix: string): Promise<StoredEntry[]> {
    const entries: StoredEntry[] = [];
    let token: string | undefined;
    do {
      const page = await guarded(
        this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: `${this.#key(prefix)}/`, ContinuationToken: token })),
        `list ${prefix}`,
      );
      for (const o of page.Contents ?? []) if (o.Key) entries.push({ key: o.Key.slice(this.#prefix.length), size: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return entries;
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = (await this.list(prefix)).map((e) => e.key);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const answer = await guarded(
        this.#client.send(
          new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: batch.map((k) => ({ Key: this.#key(k) })), Quiet: true } }),
        ),
        `delete ${prefix}`,
      );
      if (answer.Errors?.length) throw new StorageUnavailable(`delete ${prefix}: ${answer.Errors[0]!.Code} ${answer.Errors[0]!.Message}`);
    }
    return keys.length;
  }

  /** Stops the client's connections. */
  close(): void {
    this.#client.destroy();
  }

  #key(key: string): string {
    return this.#prefix + checkKey(key);
  }
}

/** `request`'s answer, or StorageUnavailable saying what failed. */
async function guarded<T>(request: Promise<T>, what: string): Promise<T> {
  try {
    return await request;
  } catch (err) {
    throw unavailable(err, what);
  }
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function unavailable(err: unknown, what: string): StorageUnavailable {
  const e = err as { name?: string; message?: string };
  return new StorageUnavailable(`Object storage: ${what} failed (${e.name ?? 'Error'}: ${e.message ?? String(err)})`, { cause: err });
}
