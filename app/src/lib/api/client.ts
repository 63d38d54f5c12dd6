// Browser-side calls to /api: JSON in, JSON out, the server's error message surfaced as an ApiCallError.
import type { ApiError } from '@lectern/contracts/auth';

export class ApiCallError extends Error {
  readonly status: number;
  readonly code: string;
  readonly issues: { path: string; message: string }[];
  constructor(status: number, body: Partial<ApiError>) {
    super(body.error?.message ?? `Request failed (${status})`);
    this.status = status;
    this.code = body.error?.code ?? 'http_error';
    this.issues = body.error?.issues ?? [];
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(`/api${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    credentials: 'same-origin',
  });
  const data = (await res.json().catch(() => ({}))) as T & Partial<ApiError>;
  if (!res.ok) throw new ApiCallError(res.status, data);
  return data;
}

/** Field -> first message, from a zod error or a server answer, for showing next to inputs. */
export function fieldErrors(issues: { path: string; message: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of issues) out[i.path] ??= i.message;
  return out;
}
