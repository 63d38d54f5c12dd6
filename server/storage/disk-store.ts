// Objects as files under one directory of this machine (the data directory): key `a/b/c` is `<root>/a/b/c`.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  checkKey,
  RangeNotSatisfiable,
  resolveRange,
  type ByteRange,
  type ObjectStore,
  type StoredEntry,
  type StoredObject,
} from './object-store.ts';

export class DiskStore implements ObjectStore {
  readonly root: string;
  readonly name: string;

  constructor(root: string) {
    this.root = root;
    this.name = `disk:${root}`;
  }

  /** Where `key` (or a prefix) is on disk. */
  pathOf(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'));
  }

  async put(key: string, body: string | Uint8Array): Promise<void> {
    const file = this.pathOf(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    // Written aside, then renamed: a reader never sees half a file.
    const tmp = `${file}.${randomUUID()}.tmp`;
    await fs.writeFile(tmp, body);
    await fs.rename(tmp, file);
  }

  async putFile(key: string, file: string): Promise<void> {
    const target = this.pathOf(key);
    if (path.resolve(file) === target) return;
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.copyFile(file, target);
  }

  async get(key: string, range?: ByteRange): Promise<StoredObject | null> {
    const handle = await fs.open(this.pathOf(key), 'r').catch(() => null);
    if (!handle) return null;
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) {
        await handle.close();
        return null;
      }
      const bytes = range ? resolveRange(range, stat.size) : { start: 0, end: stat.size - 1 };
      if (!bytes) throw new RangeNotSatisfiable(stat.size);
      // An empty file: a stream of nothing (createReadStream rejects end < start).
      const body = handle.createReadStream(stat.size ? { start: bytes.start, end: bytes.end } : { start: 0, end: Infinity });
      return { body, size: stat.size, ...(range ? { range: bytes } : {}) };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async remove(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), { force: true });
  }

  async list(prefix: string): Promise<StoredEntry[]> {
    const dir = this.pathOf(prefix);
    const entries = await fs.readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
    const files = await Promise.all(
      entries
        .filter((e) => e.isFile())
        .map(async (e) => {
          const file = path.join(e.parentPath, e.name);
          const size = await fs.stat(file).then(
            (s) => s.size,
            () => null,
          );
          return size === null ? null : { key: `${prefix}/${path.relative(dir, file).split(path.sep).join('/')}`, size };
        }),
    );
    return files.filter((f): f is StoredEntry => f !== null);
  }

  async deletePrefix(prefix: string): Promise<number> {
    const count = (await this.list(prefix)).length;
    await fs.rm(this.pathOf(prefix), { recursive: true, force: true });
    return count;
  }
}
