// A real S3 HTTP API on loopback for tests (s3rver: objects as files in a scratch directory), with one
// bucket, the environment that points Lectern at it, and a client of its own to look into the bucket.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

const BUCKET = 'lectern-test';
// s3rver accepts these (and only these) credentials.
const KEY = 'S3RVER';

export class TestS3 {
  readonly #dir: string;
  #server: S3rver;
  readonly port: number;
  readonly client: S3Client;

  private constructor(dir: string, server: S3rver, port: number) {
    this.#dir = dir;
    this.#server = server;
    this.port = port;
    this.client = new S3Client({
      endpoint: this.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: KEY, secretAccessKey: KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  static async start(): Promise<TestS3> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-s3-'));
    const server = TestS3.#make(dir, 0);
    const { port } = await server.run();
    return new TestS3(dir, server, port);
  }

  static #make(dir: string, port: number): S3rver {
    return new S3rver({ address: '127.0.0.1', port, silent: true, directory: dir, configureBuckets: [{ name: BUCKET }] });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** What a Lectern server needs to keep its media in this bucket. */
  get env(): Record<string, string> {
    return {
      LECTERN_S3_ENDPOINT: this.endpoint,
      LECTERN_S3_BUCKET: BUCKET,
      LECTERN_S3_ACCESS_KEY_ID: KEY,
      LECTERN_S3_SECRET_ACCESS_KEY: KEY,
    };
  }

  /** Every object under `prefix` with its size. */
  async objects(prefix: string): Promise<{ key: string; size: number }[]> {
    const page = await this.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (page.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size ?? 0 }));
  }

  async read(key: string): Promise<Buffer> {
    const answer = await this.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await answer.Body!.transformToByteArray());
  }

  /** Empties the bucket. */
  async clear(): Promise<void> {
    const keys = (await this.objects('')).map((o) => ({ Key: o.key }));
    if (keys.length) await this.client.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys } }));
  }

  /** The store goes down (its objects stay). */
  async stop(): Promise<void> {
    await this.#server.close();
  }

  /** The store comes back on the same port with the same objects. */
  async resume(): Promise<void> {
    this.#server = TestS3.#make(this.#dir, this.port);
    await this.#server.run();
  }

  async close(): Promise<void> {
    this.client.destroy();
    await this.#server.close().catch(() => undefined);
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }
}
