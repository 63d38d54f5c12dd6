// PGlite is an embedded, single-process database: two processes on one data directory corrupt it. A lock
// file with the owner's pid turns that mistake (e.g. `npm run seed` while `npm start` runs) into a clear error.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config-error.ts';

export class PgliteDirectoryLock {
  readonly #file: string;
  #released = false;

  private constructor(file: string) {
    this.#file = file;
  }

  static acquire(dir: string): PgliteDirectoryLock {
    const file = path.join(dir, 'lectern.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
        return new PgliteDirectoryLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = Number(fs.readFileSync(file, 'utf8').trim());
        if (owner && isAlive(owner)) {
          throw new ConfigError(
            `The embedded database in ${dir} is in use by ${owner === process.pid ? 'this process' : `process ${owner} (a running npm start?)`}. ` +
              'Stop that process first, or use a PostgreSQL server through DATABASE_URL.',
          );
        }
        fs.rmSync(file, { force: true }); // left behind by a process that is gone
      }
    }
    throw new Error(`Could not lock the embedded database in ${dir}`);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    fs.rmSync(this.#file, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
