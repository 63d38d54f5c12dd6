// Parses a JSON body or query string with a zod schema; bad input becomes a 400 with a clear message.
import type { Context } from 'hono';
import type { z } from 'zod';
import { ApiFailure, validationFailure } from './errors.ts';

/** Largest JSON body any route accepts; uploads have their own limit. */
export const MAX_JSON_BYTES = 64 * 1024;

function tooLarge(c: Context, max = MAX_JSON_BYTES): ApiFailure {
  // The rest of the body is not read: the connection cannot carry another request after it.
  c.header('connection', 'close');
  return new ApiFailure(413, 'too_large', `Body larger than ${max} bytes`);
}

/**
 * The body as text, read until it passes `max` bytes and no further: a body streamed without a length (chunked)
 * is refused while it arrives instead of being buffered whole first.
 */
async function readBounded(c: Context, max: number): Promise<string> {
  return (await readBoundedBytes(c, max)).toString('utf8');
}

/** The raw body, refused (413) past `max` bytes, whether announced by its length or found while streaming. */
export async function readBoundedBytes(c: Context, max: number): Promise<Buffer> {
  if (Number(c.req.header('content-length') ?? 0) > max) throw tooLarge(c, max);
  const body = c.req.raw.body;
  if (!body) return Buffer.alloc(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      void reader.cancel().catch(() => {});
      throw tooLarge(c, max);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const length = Number(c.req.header('content-length') ?? 0);
  if (length > MAX_JSON_BYTES) throw tooLarge(c);
  const text = await readBounded(c, MAX_JSON_BYTES).catch((err: unknown) => {
    if (err instanceof ApiFailure) throw err;
    throw new ApiFailure(400, 'invalid_body', 'The body could not be read');
  });
  let raw: unknown;
  try {
    raw = text ? JSON.parse(text) : {};
  } catch {
    throw new ApiFailure(400, 'invalid_json', 'Body is not valid JSON');
  }
  const result = schema.safeParse(raw);
  if (!result.success) throw validationFailure(result.error);
  return result.data;
}

export function queryParams<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const result = schema.safeParse(c.req.query());
  if (!result.success) throw validationFailure(result.error);
  return result.data;
}
