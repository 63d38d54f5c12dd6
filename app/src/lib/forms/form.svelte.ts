// One form's state: its values, a message per field, a message for the whole form and whether it is sending.
// The values are checked in the browser against the same zod contract the server validates with, so most
// mistakes are shown without a round trip; when the server still refuses, its message (and its per-field
// issues, if any) are shown the same way.
import type { z } from 'zod';
import { ApiCallError, fieldErrors } from '#lib/api/client.ts';

/** Field -> first message of a zod error, for showing next to inputs. */
export function issueErrors(error: z.ZodError): Record<string, string> {
  return fieldErrors(error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
}

export class Form<Schema extends z.ZodType> {
  /** What the inputs bind to (deeply reactive). */
  values: z.input<Schema>;
  /** Field -> message, from the browser's check or the server's answer. */
  errors = $state<Record<string, string>>({});
  /** The message for the whole form (the server's refusal, or that it could not be reached). */
  formError = $state('');
  /** True while the valid values are being sent. */
  busy = $state(false);

  readonly #schema: Schema;
  readonly #send: (data: z.output<Schema>) => Promise<unknown>;

  /** `send` gets the parsed values; whatever it throws is shown on the form. */
  constructor(schema: Schema, initial: z.input<Schema>, send: (data: z.output<Schema>) => Promise<unknown>) {
    this.values = $state(initial);
    this.#schema = schema;
    this.#send = send;
  }

  /** The form's `onsubmit` handler: validate, then send, showing what goes wrong. */
  readonly submit = async (event?: SubmitEvent): Promise<void> => {
    event?.preventDefault();
    this.formError = '';
    const parsed = this.#schema.safeParse($state.snapshot(this.values));
    if (!parsed.success) {
      this.errors = issueErrors(parsed.error);
      return;
    }
    this.errors = {};
    this.busy = true;
    try {
      await this.#send(parsed.data);
    } catch (err) {
      if (err instanceof ApiCallError) {
        this.errors = fieldErrors(err.issues);
        this.formError = err.message;
      } else this.formError = 'Could not reach the server';
    } finally {
      this.busy = false;
    }
  };
}
