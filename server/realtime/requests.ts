// Socket.io request/acknowledge with zod: every event is validated, answered exactly once, and a handler
// that throws never takes the server down. Bad payloads get { ok: false, error: { code, message } }, and so
// does a DomainError (the domain's refusal); anything else is logged and answered 'internal'.
import type { z } from 'zod';
import type { RequestName, RequestResult, RequestSchema } from '../contracts/protocol.ts';
import type { Ack } from '../contracts/realtime.ts';
import { DomainError } from '../domain-error.ts';
import type { Logger } from '../log.ts';
import type { ClassMember } from './class-membership.ts';
import type { LecternSocket } from './socket-server.ts';

export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/** What answers a request: the validated payload in, the ack's data out (contracts/protocol.ts says which). */
export type RequestHandler<E extends RequestName> = (data: z.output<RequestSchema<E>>) => Promise<RequestResult<E>> | RequestResult<E>;

/**
 * Registers request `event` on the socket, validated by `schema` (the protocol's schema for it). The handler's
 * return value is the ack's data. Returns a function that removes the listener (so a feature can detach when
 * its member leaves the class).
 */
export function onRequest<E extends RequestName>(
  socket: LecternSocket,
  event: E,
  schema: RequestSchema<E>,
  handler: RequestHandler<E>,
  log: Logger,
): () => void {
  // Untyped on purpose: a client may send anything (or no ack at all); the schema decides what gets through.
  const listener = async (payload: unknown, ack?: unknown): Promise<void> => {
    const reply = (typeof ack === 'function' ? ack : () => {}) as (a: Ack<RequestResult<E>>) => void;
    const parsed = schema.safeParse(payload);
    if (!parsed.success) return reply({ ok: false, error: { code: 'invalid_input', message: describeIssues(parsed.error) } });
    try {
      reply({ ok: true, data: await handler(parsed.data as z.output<RequestSchema<E>>) });
    } catch (err) {
      if (err instanceof DomainError) return reply({ ok: false, error: { code: err.code, message: err.message } });
      log.error({ err, event, userId: socket.data?.user?.id }, 'socket handler failed');
      reply({ ok: false, error: { code: 'internal', message: 'Something went wrong on our side' } });
    }
  };
  const untyped = socket as unknown as { on(event: string, fn: typeof listener): void; off(event: string, fn: typeof listener): void };
  untyped.on(event, listener);
  return () => void untyped.off(event, listener);
}

/** Registers request handlers for one member and returns one function that removes them all. */
export class MemberHandlers {
  readonly #member: ClassMember;
  readonly #log: Logger;
  readonly #detach: (() => void)[] = [];

  constructor(member: ClassMember, log: Logger) {
    this.#member = member;
    this.#log = log;
  }

  on<E extends RequestName>(event: E, schema: RequestSchema<E>, handler: RequestHandler<E>): this {
    this.#detach.push(onRequest(this.#member.socket, event, schema, handler, this.#log));
    return this;
  }

  detachAll(): void {
    for (const off of this.#detach.splice(0)) off();
  }
}
