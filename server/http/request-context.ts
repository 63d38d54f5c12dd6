// Gives each HTTP request an id (the caller's X-Request-Id when it is a sane one, e.g. from a proxy, else a new
// one), answers it in X-Request-Id, and runs the request in a log context with it; a class's routes add the
// class id. Every log line of the request then says both (server/log-context.ts).
import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { currentLogContext, runWithLogContext } from '../log-context.ts';

const SANE_ID = /^[\w.:-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function requestContext(): MiddlewareHandler {
  return async (c, next) => {
    const given = c.req.header('x-request-id');
    const requestId = given && SANE_ID.test(given) ? given : randomUUID();
    c.header('x-request-id', requestId);
    await runWithLogContext({ requestId }, next);
  };
}

/** On routes with a :classId: the class id joins the request's log context. */
export function classLogContext(): MiddlewareHandler {
  return async (c, next) => {
    const classId = c.req.param('classId');
    const context = currentLogContext();
    if (context && classId && UUID.test(classId)) context.classId = classId;
    await next();
  };
}
