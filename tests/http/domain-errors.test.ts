// A DomainError is the domain's refusal, whoever called: behind HTTP it answers the status its code maps to
// with the API's error body (never a 500), and a real bug still answers 500 'internal' and is logged.
import { Hono } from 'hono';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DomainError, type DomainErrorCode } from '../../server/domain-error.ts';
import { apiErrorHandler } from '../../server/http/errors.ts';

function appThrowing(err: Error, logged: unknown[]): Hono {
  const log = pino({ level: 'error' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  const app = new Hono();
  app.onError(apiErrorHandler(log));
  app.get('/x', () => {
    throw err;
  });
  return app;
}

describe('DomainError over HTTP', () => {
  const cases: [DomainErrorCode, number][] = [
    ['invalid_input', 400],
    ['forbidden', 403],
    ['removed', 403],
    ['not_found', 404],
    ['not_live', 409],
    ['poll_closed', 409],
    ['slow_down', 429],
  ];
  it.each(cases)('%s answers %i with the code and message, unlogged', async (code, status) => {
    const logged: unknown[] = [];
    const res = await appThrowing(new DomainError(code, `refused: ${code}`), logged).request('/x');
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code, message: `refused: ${code}` } });
    expect(logged).toEqual([]);
  });

  it('answers anything else 500 internal and logs it', async () => {
    const logged: { msg?: string }[] = [];
    const res = await appThrowing(new Error('a bug'), logged).request('/x');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'internal', message: 'Something went wrong on our side' } });
    expect(logged.map((l) => l.msg)).toEqual(['request failed']);
  });
});
