// Media storage on its own, over real directories: keys and byte ranges as the /media routes ask them, this
// machine's copy read first and the store second, an upload that removes the local copy only once everything
// is stored (retried while the store refuses), sizes counting a file once, and a deletion that stops an
// upload under way. The "store" here is a second directory (DiskStore); the S3 store is tested against
// s3rver in tests/hls/object-storage.test.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/log.ts';
import { DiskStore } from '../../server/storage/disk-store.ts';
import { readAll, MediaStorage } from '../../server/storage/media-storage.ts';
import { checkKey, parseRangeHeader, resolveRange } from '../../server/storage/object-store.ts';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-storage-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
const log = createLogger('silent');
let n = 0;
const dirs = () => ({ local: path.join(scratch, `local-${++n}`), remote: path.join(scratch, `remote-${n}`) });

function write(root: string, key: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(root, key)), { recursive: true });
  fs.writeFileSync(path.join(root, key), text);
}

describe('byte ranges and keys', () => {
  it('reads one range of a Range header and places it in an object', () => {
    expect(parseRangeHeader('bytes=0-99')).toEqual({ start: 0, end: 99 });
    expect(parseRangeHeader('bytes=100-')).toEqual({ start: 100 });
    expect(parseRangeHeader('bytes=-20')).toEqual({ suffix: 20 });
    // Several ranges, a reversed one or another unit: answered whole.
    for (const header of ['bytes=0-1,5-6', 'bytes=9-3', 'items=0-1', 'bytes=-', undefined])
      expect(parseRangeHeader(header)).toBeUndefined();
    expect(resolveRange({ start: 10, end: 1000 }, 50)).toEqual({ start: 10, end: 49 });
    expect(resolveRange({ suffix: 80 }, 50)).toEqual({ start: 0, end: 49 });
    expect(resolveRange({ start: 50 }, 50)).toBeNull();
  });

  it('refuses keys that leave their prefix', () => {
    for (const bad of ['../etc/passwd', 'a/../../b', '/abs', 'a//b', 'a/./b', 'a\\b', ''])
      expect(() => checkKey(bad)).toThrow(/Not a storage key/);
    expect(checkKey('recordings/0d5c/360p/run-0-00001.m4s')).toBe('recordings/0d5c/360p/run-0-00001.m4s');
  });
});

describe('MediaStorage', () => {
  it('uploads a prefix, then serves it from the store; sizes count each file once; deleting empties both', async () => {
    const d = dirs();
    const storage = new MediaStorage({ dataDir: d.local, remote: new DiskStore(d.remote), log });
    write(d.local, 'recordings/r1/master.m3u8', '#EXTM3U\n');
    write(d.local, 'recordings/r1/360p/seg.m4s', '0123456789');
    write(d.local, 'recordings/r1/360p/half.m4s.tmp', 'partial');
    write(d.local, 'recordings/r2/master.m3u8', 'other');
    expect(await storage.sizeOfPrefix('recordings/r1')).toBe(8 + 10 + 7);

    storage.upload('recordings/r1');
    expect(storage.pendingUploads).toEqual(['recordings/r1']);
    await storage.uploaded('recordings/r1');
    // Everything but the temporary file went up, and this machine's copy is gone; the neighbour is untouched.
    expect(fs.existsSync(path.join(d.local, 'recordings/r1'))).toBe(false);
    expect(fs.readFileSync(path.join(d.remote, 'recordings/r1/360p/seg.m4s'), 'utf8')).toBe('0123456789');
    expect(fs.existsSync(path.join(d.remote, 'recordings/r1/360p/half.m4s.tmp'))).toBe(false);
    expect(fs.existsSync(path.join(d.local, 'recordings/r2/master.m3u8'))).toBe(true);

    expect(await storage.readText('recordings/r1/master.m3u8')).toBe('#EXTM3U\n');
    const part = (await storage.get('recordings/r1/360p/seg.m4s', { start: 2, end: 4 }))!;
    expect(part).toMatchObject({ size: 10, range: { start: 2, end: 4 } });
    expect((await readAll(part.body, 100)).toString()).toBe('234');
    expect(await storage.get('recordings/r1/360p/none.m4s')).toBeNull();

    // A file made later goes to the store directly; the local copy of the same key goes.
    write(d.local, 'recordings/r1/captions.vtt', 'old');
    await storage.put('recordings/r1/captions.vtt', 'WEBVTT\n');
    expect(fs.existsSync(path.join(d.local, 'recordings/r1/captions.vtt'))).toBe(false);
    expect(await storage.readText('recordings/r1/captions.vtt')).toBe('WEBVTT\n');
    expect(await storage.sizeOfPrefix('recordings/r1')).toBe(8 + 10 + 7);

    // Brought back to write more into it (a recording continued), then uploaded again.
    await storage.restore('recordings/r1');
    expect(fs.readFileSync(path.join(d.local, 'recordings/r1/360p/seg.m4s'), 'utf8')).toBe('0123456789');
    expect(fs.readFileSync(path.join(d.local, 'recordings/r1/captions.vtt'), 'utf8')).toBe('WEBVTT\n');

    await storage.deletePrefix('recordings/r1');
    expect(fs.existsSync(path.join(d.remote, 'recordings/r1'))).toBe(false);
    expect(await storage.get('recordings/r1/master.m3u8')).toBeNull();
    await storage.close();
  });

  it('keeps serving the local copy while the store refuses, and uploads once it takes files again', async () => {
    const d = dirs();
    // A store whose directory cannot be made (a file stands where it should be) refuses every write.
    fs.mkdirSync(path.dirname(d.remote), { recursive: true });
    fs.writeFileSync(d.remote, 'not a directory');
    const storage = new MediaStorage({ dataDir: d.local, remote: new DiskStore(d.remote), log, retryMs: 50, retryMaxMs: 200 });
    write(d.local, 'lessons/l1/hls/master.m3u8', '#EXTM3U\n');
    storage.upload('lessons/l1/hls');
    await new Promise((r) => setTimeout(r, 300));
    expect(storage.pendingUploads).toEqual(['lessons/l1/hls']);
    expect(await storage.readText('lessons/l1/hls/master.m3u8')).toBe('#EXTM3U\n');

    fs.rmSync(d.remote);
    await storage.uploaded('lessons/l1/hls');
    expect(storage.pendingUploads).toEqual([]);
    expect(fs.existsSync(path.join(d.local, 'lessons/l1/hls'))).toBe(false);
    expect(fs.readFileSync(path.join(d.remote, 'lessons/l1/hls/master.m3u8'), 'utf8')).toBe('#EXTM3U\n');
    await storage.close();
  });

  it('replaces what a new upload of the prefix no longer has, and a deletion stops a pending upload', async () => {
    const d = dirs();
    const storage = new MediaStorage({ dataDir: d.local, remote: new DiskStore(d.remote), log });
    write(d.remote, 'lessons/l2/hls/720p/index.m3u8', 'old ladder');
    write(d.local, 'lessons/l2/hls/360p/index.m3u8', 'new ladder');
    storage.upload('lessons/l2/hls', { replace: true });
    await storage.uploaded('lessons/l2/hls');
    expect((await new DiskStore(d.remote).list('lessons/l2')).map((e) => e.key)).toEqual(['lessons/l2/hls/360p/index.m3u8']);

    // An upload waiting for its retry (the store refused it) is dropped by the deletion, not made afterwards.
    write(d.local, 'lessons/l3/hls/master.m3u8', 'x');
    const blocked = path.join(scratch, `blocked-${n}`);
    fs.writeFileSync(blocked, 'not a directory');
    const refusing = new MediaStorage({ dataDir: d.local, remote: new DiskStore(blocked), log, retryMs: 100 });
    refusing.upload('lessons/l3/hls');
    await new Promise((r) => setTimeout(r, 50));
    expect(refusing.pendingUploads).toEqual(['lessons/l3/hls']);
    fs.rmSync(blocked);
    await refusing.deletePrefix('lessons/l3');
    expect(refusing.pendingUploads).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(fs.existsSync(path.join(d.local, 'lessons/l3'))).toBe(false);
    expect(fs.existsSync(path.join(blocked, 'lessons/l3'))).toBe(false);
    await refusing.close();
    await storage.close();
  });
});
