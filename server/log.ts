// Structured logs (pino). Child loggers carry the module name so a line says where it came from.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'lectern' }, timestamp: pino.stdTimeFunctions.isoTime });
}
