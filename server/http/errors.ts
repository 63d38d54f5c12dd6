// One error shape for the whole API: { error: { code, message, issues? } }.
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import type { ApiError } from '../contracts/auth.ts';

export class ApiFailure extends HTTPException {
  readonly code: string;
  readonly issues: { path: string; message: string }[] | undefined;
  constructor(status: ContentfulStatusCode, code: string, message: string, issues?: { path: string; message: string }[]) {
    super(status, { message });
    this.code = code;
    this.issues = issues;
  }
}

export function validationFailure(error: z.ZodError): ApiFailure {
  const issues = error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const summary = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
  return new ApiFailure(400, 'invalid_input', summary || 'Invalid input', issues);
}

export function errorResponse(err: Error, c: Context): Response {
  if (err instanceof ApiFailure) {
    const body: ApiError = { error: { code: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) } };
    return c.json(body, err.status);
  }
  if (err instanceof HTTPException) {
    return c.json({ error: { code: 'http_error', message: err.message || 'Request failed' } } satisfies ApiError, err.status);
  }
  return c.json({ error: { code: 'internal', message: 'Something went wrong on our side' } } satisfies ApiError, 500);
}
