// Demo data without stopping the server: `npm run seed` while a server holds the embedded database goes through
// that server; `--demo` adds it at start-up; a database nobody answers for is refused in one line, no stack.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../helpers/http-client.ts';
import { plainEnvironment } from '../helpers/npm-start.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

function npmRunSeed(dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', 'seed'], { cwd: ROOT, env: plainEnvironment(dataDir) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function logsIn(url: string, email: string): Promise<boolean> {
  const res = await new HttpClient(url).post('/api/auth/login', { email, password: 'lectern-demo-2026' });
  return res.status === 200;
}

describe('demo data while the server runs', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('npm run seed goes through the running server, twice without duplicates', async () => {
    expect(await logsIn(server.url, 'teacher@lectern.test')).toBe(false);
    const first = await npmRunSeed(server.dataDir);
    expect(first.stderr).not.toMatch(/at .*\.ts:\d+|Error:/);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Demo data is ready \(added through the running server, PGlite in /);
    expect(first.stdout).toMatch(/teacher +teacher@lectern\.test/);
    for (const email of ['teacher@lectern.test', 'student@lectern.test', 'admin@lectern.test'])
      expect(await logsIn(server.url, email)).toBe(true);
    const again = await npmRunSeed(server.dataDir);
    expect(again.code).toBe(0);
    const courses = await new HttpClient(server.url).get('/api/courses?q=Signals');
    expect(courses.body.items.filter((c: { title: string }) => c.title === 'Introduction to Signals and Systems')).toHaveLength(1);
  });

  it('a database held by a process that does not answer is refused in one line', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-seed-'));
    try {
      fs.mkdirSync(path.join(dataDir, 'db'), { recursive: true });
      // This test process "holds" it: alive, but no server socket in the data directory.
      fs.writeFileSync(path.join(dataDir, 'db', 'lectern.lock'), String(process.pid));
      const refused = await npmRunSeed(dataDir);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      const lines = refused.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(`^lectern seed: The embedded database in .* is in use by process ${process.pid} .*npm start -- --demo`),
      );
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('--demo adds the demo data at start-up and reports the logins', async () => {
    const demo = await startTestServer({ demo: true });
    try {
      expect(demo.demoLogins).toMatch(/admin +admin@lectern\.test/);
      expect(await logsIn(demo.url, 'admin@lectern.test')).toBe(true);
    } finally {
      await demo.stop();
    }
  });
});
