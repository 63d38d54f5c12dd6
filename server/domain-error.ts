// The one failure the domain (sfu/, classes/, interaction/, ...) throws when a request cannot be honoured:
// a stable code plus a message for people. It knows nothing of its callers: the socket ack envelope
// (realtime/requests.ts) answers { ok: false, error: { code, message } } and the HTTP error handler
// (http/errors.ts) answers the same body with the status its code maps to. Anything else thrown is a bug,
// logged and answered 'internal'.

/** Every code a DomainError may carry; the HTTP layer maps each to a status, the app may branch on them. */
export type DomainErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'forbidden'
  | 'removed'
  | 'muted'
  | 'slow_down'
  | 'too_many_tabs'
  | 'too_many_polls'
  | 'too_many_questions'
  | 'too_many_chapters'
  | 'cancelled'
  | 'ended'
  | 'not_live'
  | 'not_joined'
  | 'gone'
  | 'on_stage'
  | 'not_invited'
  | 'poll_closed'
  | 'already_voted'
  | 'not_voted'
  | 'invalid_state'
  | 'unsupported'
  | 'unavailable';

/** A refusal with a stable code beside its message; each kind of refusal names its own set of codes. */
export class CodedError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

export class DomainError extends CodedError<DomainErrorCode> {}
