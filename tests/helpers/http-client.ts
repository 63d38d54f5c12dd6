// A fetch with a cookie jar, so one client is one logged-in person.
import { linkIn, sharedMailCatcher } from './mail-catcher.ts';

export class HttpClient {
  readonly baseUrl: string;
  readonly #cookies = new Map<string, string>();

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  /** The same person (same cookies) against another server, e.g. the one that replaced a stopped server. */
  at(baseUrl: string): HttpClient {
    const client = new HttpClient(baseUrl);
    for (const [name, value] of this.#cookies) client.#cookies.set(name, value);
    return client;
  }

  get cookieHeader(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.#cookies.size ? { cookie: this.cookieHeader } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      redirect: 'manual',
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /max-age=0/i.test(a) || (/expires=/i.test(a) && new Date(a.split('=')[1]!) < new Date()));
      if (expired || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  get(path: string) {
    return this.request('GET', path);
  }
  post(path: string, body?: unknown) {
    return this.request('POST', path, body ?? {});
  }
  patch(path: string, body?: unknown) {
    return this.request('PATCH', path, body ?? {});
  }
  delete(path: string) {
    return this.request('DELETE', path);
  }
}

/** A registered person: their logged-in client, their account and the password they chose. */
export interface RegisteredUser {
  client: HttpClient;
  user: { id: string; email: string; displayName: string; role: string; emailVerified: boolean };
  password: string;
}

let counter = 0;
/**
 * Registers a fresh account (unique email) and returns a logged-in client. The account confirms its address
 * the way a person does, through the link mailed to it (servers started by the helpers send to the test
 * process's SMTP catcher), since enrolling and teaching need a confirmed address; `verify: false` skips that.
 */
export async function registerUser(
  baseUrl: string,
  role: 'student' | 'teacher' = 'student',
  name = `${role} ${++counter}`,
  options: { verify?: boolean } = {},
): Promise<RegisteredUser> {
  const client = new HttpClient(baseUrl);
  const password = 'correct horse battery';
  const email = `${role}-${process.pid}-${Date.now()}-${++counter}@example.test`;
  const res = await client.post('/api/auth/register', { email, password, displayName: name, role });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  const person: RegisteredUser = { client, user: res.body.user, password };
  if (options.verify ?? true) await verifyByMail(person);
  return person;
}

/** Follows the "confirm your address" link mailed to the person. */
export async function verifyByMail(person: RegisteredUser): Promise<void> {
  const catcher = await sharedMailCatcher();
  const mail = await catcher.waitFor((m) => m.to.includes(person.user.email) && /confirm your email/i.test(m.subject));
  // By path: a server with LECTERN_ORIGIN set links to that origin, not to the address the test uses.
  const token = linkIn(mail, '/verify-email').searchParams.get('token');
  const res = await person.client.post('/api/account/verify-email', { token });
  if (res.status !== 200) throw new Error(`verification failed: ${res.status} ${JSON.stringify(res.body)}`);
  person.user.emailVerified = true;
}
