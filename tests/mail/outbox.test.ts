// The mail outbox against real parts: an SMTP server (smtp-server) that goes down and comes back, a server
// restart in between, PostgreSQL connections racing for the same rows, and the default without SMTP, where
// the server as `npm start` runs it prints each message to its log.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { startLectern, type LecternServer } from '../../server/main.ts';
import { openDatabase, type DatabaseHandle } from '../../server/db/client.ts';
import { mailOutbox } from '../../server/db/schema.ts';
import { MailOutbox } from '../../server/mail/mail-outbox.ts';
import { createScratchDatabase } from '../helpers/databases.ts';
import { HttpClient, registerUser } from '../helpers/http-client.ts';
import { linkIn, MailCatcher } from '../helpers/mail-catcher.ts';
import { serverEnv } from '../helpers/server-process.ts';

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('mail outbox', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-outbox-'));
  let catcher: MailCatcher;
  afterAll(async () => {
    await catcher?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every message through an SMTP outage and a server restart, retries with back-off and sends each once', async () => {
    catcher = await MailCatcher.start();
    await catcher.stop(); // the SMTP server is down from the start
    const env = { ...serverEnv({ dataDir }), LECTERN_SMTP_URL: catcher.url, LECTERN_MAIL_RETRY_SECONDS: '1' };
    const start = () => startLectern({ config: loadConfig({ ...process.env, ...env }), app: 'none' });

    let server: LecternServer = await start();
    const people = [];
    for (let i = 0; i < 3; i++) people.push(await registerUser(server.url, 'student', `Outage ${i}`, { verify: false }));
    await new HttpClient(server.url).post('/api/account/forgot-password', { email: people[0]!.user.email });
    const addresses = people.map((p) => p.user.email);
    const rows = () => server.database.db.select().from(mailOutbox).where(inArray(mailOutbox.toAddress, addresses));

    // Every message was tried and refused by the missing server, and at least one was tried again.
    const failing = await until('failed attempts', async () => {
      const r = await rows();
      return (
        r.length === 4 && r.every((m) => m.status === 'pending' && m.attempts >= 1 && m.lastError) && r.some((m) => m.attempts >= 2) && r
      );
    });
    expect(failing.map((m) => m.lastError).join(' ')).toMatch(/ECONNREFUSED|connect/i);
    for (const m of failing) expect(m.nextAttemptAt.getTime()).toBeGreaterThan(m.createdAt.getTime());
    expect(catcher.messages).toHaveLength(0);

    // The server restarts (same data directory), then the SMTP server comes back.
    await server.close();
    await catcher.listen();
    server = await start();
    try {
      await until('all four messages', async () => catcher.messages.length >= 4);
      await server.mailer.drain();
      const delivered = await rows();
      expect(delivered.map((m) => m.status)).toEqual(['sent', 'sent', 'sent', 'sent']);
      expect(catcher.messages).toHaveLength(4);
      expect(new Set(catcher.messages.map((m) => m.messageId)).size).toBe(4);
      for (const address of addresses) expect(catcher.to(address).filter((m) => /confirm your email/i.test(m.subject))).toHaveLength(1);
      expect(catcher.to(addresses[0]!).filter((m) => /reset/i.test(m.subject))).toHaveLength(1);

      // The delayed link works: its token was made when the message was finally composed.
      const link = linkIn(catcher.to(addresses[1]!)[0]!, `${server.url}/verify-email`);
      const verified = await new HttpClient(server.url).post('/api/account/verify-email', { token: link.searchParams.get('token') });
      expect(verified.status).toBe(200);
    } finally {
      await server.close();
    }
  }, 240_000); // two server starts, on a shared machine
});

describe('mail outbox claims on PostgreSQL', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let a: DatabaseHandle;
  let b: DatabaseHandle;
  beforeAll(async () => {
    scratch = await createScratchDatabase();
    a = await openDatabase({ url: scratch.url, pgliteDir: 'unused' });
    b = await openDatabase({ url: scratch.url, pgliteDir: 'unused' });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await scratch?.drop();
  });

  it('hands each row to exactly one of two senders racing over separate connections', async () => {
    const outboxA = new MailOutbox(a.db);
    const outboxB = new MailOutbox(b.db);
    const items = Array.from({ length: 300 }, (_, i) => ({ kind: 'password_reset' as const, to: `race-${i}@example.test` }));
    expect(await outboxA.enqueue(items)).toBe(300);

    const taken: Record<'a' | 'b', string[]> = { a: [], b: [] };
    const sender = async (name: 'a' | 'b', outbox: MailOutbox) => {
      for (;;) {
        const rows = await outbox.claim(7, 60_000);
        if (rows.length === 0) return;
        taken[name].push(...rows.map((r) => r.id));
        for (const row of rows) await outbox.markSent(row);
      }
    };
    await Promise.all([sender('a', outboxA), sender('a', outboxA), sender('b', outboxB), sender('b', outboxB)]);
    const all = [...taken.a, ...taken.b];
    expect(all).toHaveLength(300);
    expect(new Set(all).size).toBe(300);
    expect(taken.a.length).toBeGreaterThan(0);
    expect(taken.b.length).toBeGreaterThan(0);
  });

  it('gives a row whose sender died to another once the lease ends, and ignores the late first sender', async () => {
    const outboxA = new MailOutbox(a.db);
    let clock = Date.now();
    const outboxB = new MailOutbox(b.db, { now: () => clock });
    await outboxA.enqueue({ kind: 'password_reset', to: 'lease@example.test', dedupeKey: 'lease-test' });
    // A repeated dedupe key is not queued again.
    expect(await outboxB.enqueue({ kind: 'password_reset', to: 'lease@example.test', dedupeKey: 'lease-test' })).toBe(0);
    const [held] = await outboxA.claim(10, 60_000);
    expect(held?.toAddress).toBe('lease@example.test');
    expect(await outboxB.claim(10, 60_000)).toHaveLength(0);

    clock += 61_000; // A's lease ran out (it crashed mid-send)
    const [takenOver] = await outboxB.claim(10, 60_000);
    expect(takenOver?.id).toBe(held!.id);
    expect(takenOver?.attempts).toBe(2);
    await outboxA.markSent(held!); // too late: B holds it now
    const [row] = await a.db.select().from(mailOutbox).where(eq(mailOutbox.id, held!.id));
    expect(row!.status).toBe('sending');
    await outboxB.markSent(takenOver!);
    const [done] = await a.db.select().from(mailOutbox).where(eq(mailOutbox.id, held!.id));
    expect(done!.status).toBe('sent');
  });
});

describe('mail without SMTP', () => {
  it('prints each message to the log of the server started as npm start starts it, with a working link', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-maillog-'));
    // main.ts as `npm start` runs it; only the ports and the data directory differ from the defaults.
    const child = spawn(process.execPath, ['server/main.ts'], {
      env: { ...process.env, LECTERN_SMTP_URL: '', PORT: '0', HOST: '127.0.0.1', LECTERN_RTC_PORT: '0', LECTERN_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
        readline.createInterface({ input: child.stdout! }).on('line', (line) => {
          const live = /Lectern is live on (\S+)/.exec(line);
          if (live) resolve(live[1]!);
        });
      });
      const person = await registerUser(url, 'teacher', 'Logan Log', { verify: false });
      const block = await until('the printed message', async () => {
        const at = stderr.indexOf(`Mail to: ${person.user.email}`);
        return at >= 0 && stderr.indexOf('-'.repeat(72), at) > 0 && stderr.slice(at, stderr.indexOf('-'.repeat(72), at));
      });
      expect(block).toContain('Subject: Confirm your email address for Lectern');
      expect(block).toContain('Confirm my address:');
      const link = /(https?:\/\/\S+\/verify-email\?token=\S+)/.exec(block)![1]!;
      expect(link.startsWith(`${url}/verify-email`)).toBe(true);
      const res = await person.client.post('/api/account/verify-email', { token: new URL(link).searchParams.get('token') });
      expect(res.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000); // the whole server with its web app and a worker per core
});
