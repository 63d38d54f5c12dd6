// Streams a request body to a scratch file under a byte limit; over the limit the file is removed and the
// caller gets UploadTooLarge. Nothing is buffered in memory.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export class UploadTooLarge extends Error {}

export async function receiveUpload(
  body: ReadableStream<Uint8Array> | null,
  dir: string,
  maxBytes: number,
): Promise<{ file: string; sizeBytes: number }> {
  if (!body) throw new Error('empty body');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${randomUUID()}.part`);
  let size = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) return done(new UploadTooLarge(`larger than ${maxBytes} bytes`));
      done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream), limit, fs.createWriteStream(file, { flags: 'wx' }));
  } catch (err) {
    fs.rmSync(file, { force: true });
    throw err;
  }
  return { file, sizeBytes: size };
}
