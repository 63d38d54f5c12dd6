// One error shape for the whole API: { error: { code, message, issues? } }. A DomainError thrown by the
// domain answers the status its code maps to, exactly as the socket ack answers its code.
import type { Context, ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import type { ApiError } from '../contracts/auth.ts';
import { DomainError, type DomainErrorCode } from '../domain-error.ts';
import type { Logger } from '../log.ts';
import { StorageUnavailable } from '../storage/object-store.ts';

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

/** The HTTP status of each domain refusal. */
const DOMAIN_STATUS: Record<DomainErrorCode, ContentfulStatusCode> = {
  invalid_input: 400,
  not_found: 404,
  forbidden: 403,
  removed: 403,
  muted: 403,
  slow_down: 429,
  too_many_tabs: 429,
  too_many_polls: 409,
  too_many_questions: 409,
  too_many_chapters: 409,
  cancelled: 409,
  ended: 409,
  not_live: 409,
  not_joined: 409,
  gone: 409,
  on_stage: 409,
  not_invited: 409,
  poll_closed: 409,
  already_voted: 409,
  not_voted: 409,
  invalid_state: 409,
  unsupported: 422,
  unavailable: 503,
};

export function errorResponse(err: Error, c: Context): Response {
  if (err instanceof DomainError) {
    return c.json({ error: { code: err.code, message: err.message } } satisfies ApiError, DOMAIN_STATUS[err.code]);
  }
  if (err instanceof ApiFailure) {
    const body: ApiError = { error: { code: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) } };
    return c.json(body, err.status);
  }
  if (err instanceof HTTPException) {
    return c.json({ error: { code: 'http_error', message: err.message || 'Request failed' } } satisfies ApiError, err.status);
  }
  if (err instanceof StorageUnavailable) {
    return c.json(
      { error: { code: 'storage_unavailable', message: 'Media storage is not answering; try again shortly' } } satisfies ApiError,
      503,
    );
  }
  return c.json({ error: { code: 'internal', message: 'Something went wrong on our side' } } satisfies ApiError, 500);
}

/** The API's error handler: refusals answer their status quietly, anything else is logged and answers 500. */
export function apiErrorHandler(log: Logger): ErrorHandler {
  return (err, c) => {
    if (!(err instanceof HTTPException) && !(err instanceof DomainError)) log.error({ err, path: c.req.path }, 'request failed');
    return errorResponse(err, c);
  };
}
