// Where media files live once made: one interface over a directory on this machine (DiskStore) and an
// S3-compatible bucket (S3Store). Keys are relative, slash-separated paths such as
// `recordings/<id>/360p/run-0-00001.m4s`; a prefix names a "directory" of keys (`recordings/<id>`).
import type { Readable } from 'node:stream';

/** Part of an object a reader asks for: bytes start..end (inclusive; end omitted: to the end), or the last `suffix` bytes. */
export type ByteRange = { start: number; end?: number } | { suffix: number };

export interface StoredObject {
  /** The object's bytes (only the range's when one was asked). */
  body: Readable;
  /** Bytes of the whole object. */
  size: number;
  /** The bytes `body` carries, inclusive, when a range was asked. */
  range?: { start: number; end: number };
}

export interface StoredEntry {
  key: string;
  size: number;
}

export interface ObjectStore {
  /** For logs: `disk:<dir>` or `s3://<bucket>/<prefix>`. */
  readonly name: string;
  put(key: string, body: string | Uint8Array): Promise<void>;
  /** Stores a file of this machine under `key` (streamed, not read into memory). */
  putFile(key: string, file: string): Promise<void>;
  /** The object (or the asked range of it); null when there is none. Throws RangeNotSatisfiable. */
  get(key: string, range?: ByteRange): Promise<StoredObject | null>;
  remove(key: string): Promise<void>;
  /** Every object under `prefix`. */
  list(prefix: string): Promise<StoredEntry[]>;
  /** Removes every object under `prefix`; returns how many went. */
  deletePrefix(prefix: string): Promise<number>;
}

/** A range that starts past the object's end (HTTP 416). */
export class RangeNotSatisfiable extends Error {
  readonly size: number;

  constructor(size: number) {
    super(`The range starts past the end of the object (${size} bytes)`);
    this.name = 'RangeNotSatisfiable';
    this.size = size;
  }
}

/** The object store did not answer (down, unreachable, refusing our credentials). */
export class StorageUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailable';
  }
}

const KEY = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/;

/** Checks a key (or prefix): relative, slash-separated names, no `.` or `..` segment. Throws on anything else. */
export function checkKey(key: string): string {
  if (key.length > 512 || !KEY.test(key) || key.split('/').some((s) => s === '.' || s === '..'))
    throw new Error(`Not a storage key: ${key}`);
  return key;
}

/** The first and last byte of `range` in an object of `size` bytes; null when it starts past the end. */
export function resolveRange(range: ByteRange, size: number): { start: number; end: number } | null {
  if ('suffix' in range) {
    if (size === 0 || range.suffix === 0) return null;
    return { start: Math.max(0, size - range.suffix), end: size - 1 };
  }
  if (range.start >= size) return null;
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}

/** An HTTP Range header's single byte range; undefined for none, a malformed one or several (answered whole, as RFC 9110 allows). */
export function parseRangeHeader(header: string | undefined): ByteRange | undefined {
  const m = header && /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m) return undefined;
  const [, from, to] = m;
  if (from === '' && to === '') return undefined;
  if (from === '') return { suffix: Number(to) };
  const start = Number(from);
  if (to === '') return { start };
  const end = Number(to);
  return end < start ? undefined : { start, end };
}

/** The Range header an S3 request carries for `range`. */
export function rangeHeader(range: ByteRange): string {
  return 'suffix' in range ? `bytes=-${range.suffix}` : `bytes=${range.start}-${range.end ?? ''}`;
}

const CONTENT_TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  ts: 'video/mp2t',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
  jpg: 'image/jpeg',
  vtt: 'text/vtt; charset=utf-8',
  json: 'application/json',
};

/** The media type of a stored file by its extension. */
export function contentTypeOf(key: string): string {
  return CONTENT_TYPES[key.slice(key.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
}
