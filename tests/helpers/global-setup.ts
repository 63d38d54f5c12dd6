// Runs once before the suite: fails early with a clear message when the set-up (npm test does it) is missing.
import fs from 'node:fs';

export default function setup(): void {
  const bin = process.env.MEDIASOUP_WORKER_BIN;
  if (!bin || !fs.existsSync(bin)) {
    throw new Error('MEDIASOUP_WORKER_BIN is not set to a built worker: run the tests with `npm test`, which builds it');
  }
  if (!fs.existsSync('app/build/handler.js')) throw new Error('app/build is missing: run the tests with `npm test`, which builds it');
}
