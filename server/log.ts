// Structured logs (pino). Child loggers carry the module name so a line says where it came from; lines written
// while handling an HTTP request also carry its request id (and class id), from log-context.ts.
import { pino, type Logger } from 'pino';
import { logContextFields } from './log-context.ts';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'lectern' }, timestamp: pino.stdTimeFunctions.isoTime, mixin: logContextFields });
}
