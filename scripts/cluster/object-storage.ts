// Object storage for `npm run cluster` when no bucket is configured: every node has its own data directory, so
// replays and lesson videos go to an S3 server all nodes share, here s3rver (the S3 HTTP API over a directory
// of the cluster's data) on loopback. A real deployment sets LECTERN_S3_* (docker-compose.yml runs MinIO).
import fs from 'node:fs';
import S3rver from 's3rver';

const BUCKET = 'lectern';
/** s3rver accepts these credentials (and only these). */
const KEY = 'S3RVER';

/** Starts the server (its objects kept in `dir` across runs) and returns what the nodes need to use it. */
export async function startLocalObjectStorage(dir: string): Promise<{ env: Record<string, string> }> {
  fs.mkdirSync(dir, { recursive: true });
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET }] });
  const { port } = await server.run();
  const url = `http://127.0.0.1:${port}`;
  return {
    env: { LECTERN_S3_ENDPOINT: url, LECTERN_S3_BUCKET: BUCKET, LECTERN_S3_ACCESS_KEY_ID: KEY, LECTERN_S3_SECRET_ACCESS_KEY: KEY },
  };
}
