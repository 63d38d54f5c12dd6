// What a page does on the API besides its forms (save, delete, promote, revoke): each action runs, the page
// reloads its data, and the outcome shows as a notice or a failure (ActionOutcome.svelte renders both).
import { invalidateAll } from '$app/navigation';
import { ApiCallError } from '#lib/api/client.ts';

/** The server's refusal in its own words, or that it could not be reached. */
export function failureMessage(err: unknown): string {
  return err instanceof ApiCallError ? err.message : 'Could not reach the server';
}

export class PageActions {
  notice = $state('');
  failure = $state('');

  /** Runs `action`; then `done` is the notice (none without it) and the page's data loads again. */
  readonly run = async (action: () => Promise<unknown>, done?: string): Promise<void> => {
    this.notice = '';
    this.failure = '';
    try {
      await action();
      if (done) this.notice = done;
      await invalidateAll();
    } catch (err) {
      this.failure = failureMessage(err);
    }
  };
}
