// `npm run bench -- <name> [options]`: runs the default export of bench/<name>.ts with the remaining
// arguments. Each benchmark prints a table and writes bench/results/<name>.json.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [name, ...args] = process.argv.slice(2);
const available = fs
  .readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3));
if (!name || !/^[a-z0-9-]+$/.test(name) || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name> [options]\navailable: ${available.join(', ') || '(none)'}`);
  process.exit(2);
}
const bench = (await import(pathToFileURL(path.join(import.meta.dirname, `${name}.ts`)).href)) as {
  default: (args: string[]) => Promise<void>;
};
await bench.default(args);
// The test helpers a bench borrows (the shared mail catcher, pools) keep handles open: the bench is done.
process.exit(0);
