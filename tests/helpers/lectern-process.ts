// A whole Lectern server in its own process, for scale-out tests: configured by the environment, prints
// {"url": ...} on one stdout line when it listens, stops cleanly on SIGTERM.
import { loadConfig } from '../../server/config.ts';
import { startLectern } from '../../server/main.ts';

// LECTERN_TEST_APP=build serves the pages too (for a browser driving this process).
const server = await startLectern({ config: loadConfig(process.env), app: process.env.LECTERN_TEST_APP === 'build' ? 'build' : 'none' });
process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid })}\n`);
process.once('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
