// Socket.io request/acknowledge with zod: every event is validated, answered exactly once, and a handler
// that throws never takes the server down. Bad payloads get { ok: false, error: { code, message } }, and so
// does a DomainError (the domain's refusal); anything else is logged and answered 'internal'.
import type { Socket } from 'socket.io';
import type { z } from 'zod';
import type { Ack } from '../contracts/realtime.ts';
import { DomainError } from '../domain-error.ts';
import type { Logger } from '../log.ts';

export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/**
 * Registers `event` on the socket. The handler's return value is the ack's data. Returns a function that
 * removes the listener (so a feature can detach when its member leaves the class).
 */
export function onRequest<S extends z.ZodType, R>(
  socket: Socket,
  event: string,
  schema: S,
  handler: (data: z.infer<S>) => Promise<R> | R,
  log: Logger,
): () => void {
  const listener = async (payload: unknown, ack?: unknown): Promise<void> => {
    const reply = (typeof ack === 'function' ? ack : () => {}) as (a: Ack<R>) => void;
    const parsed = schema.safeParse(payload);
    if (!parsed.success) return reply({ ok: false, error: { code: 'invalid_input', message: describeIssues(parsed.error) } });
    try {
      reply({ ok: true, data: await handler(parsed.data) });
    } catch (err) {
      if (err instanceof DomainError) return reply({ ok: false, error: { code: err.code, message: err.message } });
      log.error({ err, event, userId: socket.data?.user?.id }, 'socket handler failed');
      reply({ ok: false, error: { code: 'internal', message: 'Something went wrong on our side' } });
    }
  };
  socket.on(event, listener);
  return () => void socket.off(event, listener);
}
