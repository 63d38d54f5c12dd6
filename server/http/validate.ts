// Parses a JSON body or query string with a zod schema; bad input becomes a 400 with a clear message.
import type { Context } from 'hono';
import type { z } from 'zod';
import { ApiFailure, validationFailure } from './errors.ts';

/** Largest JSON body any route accepts; uploads have their own limit. */
export const MAX_JSON_BYTES = 64 * 1024;

export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const length = Number(c.req.header('content-length') ?? 0);
  if (length > MAX_JSON_BYTES) throw new ApiFailure(413, 'too_large', `Body larger than ${MAX_JSON_BYTES} bytes`);
  let raw: unknown;
  try {
    const text = await c.req.text();
    if (text.length > MAX_JSON_BYTES) throw new ApiFailure(413, 'too_large', `Body larger than ${MAX_JSON_BYTES} bytes`);
    raw = text ? JSON.parse(text) : {};
  } catch (err) {
    if (err instanceof ApiFailure) throw err;
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
