// What every log line written while handling one HTTP request carries: its request id and, for a class's
// routes, the class id. Kept in an AsyncLocalStorage that the logger's mixin reads (server/log.ts), so route
// modules log as they always did and still say which request (and class) a line belongs to.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface LogContext {
  requestId: string;
  classId?: string;
}

const store = new AsyncLocalStorage<LogContext>();

export function runWithLogContext<T>(context: LogContext, fn: () => T): T {
  return store.run(context, fn);
}

/** The current request's context (undefined outside a request). */
export function currentLogContext(): LogContext | undefined {
  return store.getStore();
}

/** The fields the logger adds to each line. */
export function logContextFields(): Record<string, string> {
  const context = store.getStore();
  if (!context) return {};
  return context.classId ? { reqId: context.requestId, classId: context.classId } : { reqId: context.requestId };
}
