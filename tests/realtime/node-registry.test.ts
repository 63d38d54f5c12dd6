// The cluster's node registry on the real Redis: nodes see each other join; a node that closes is reported gone
// at once, and a node whose process is killed (no goodbye) is reported gone after three missed beats, by every
// node that saw it, exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ClusterRedis } from '../../server/cluster/cluster-redis.ts';
import { NodeRegistry } from '../../server/cluster/node-registry.ts';
import { REDIS_PREFIX, REDIS_URL, requireRedis } from '../helpers/redis.ts';

const prefix = `${REDIS_PREFIX}:registry`;
const log = pino({ level: 'silent' });
const BEAT_MS = 200;

const connections: ClusterRedis[] = [];

async function registry(nodeName: string): Promise<NodeRegistry> {
  const redis = await ClusterRedis.connect({ url: REDIS_URL, log });
  connections.push(redis);
  return NodeRegistry.start({ redis, prefix, nodeName, nodeUrl: () => `http://${nodeName}.test:3000`, log, beatMs: BEAT_MS });
}

/** A registry in a process of its own, which the test kills. */
function registryProcess(nodeName: string): ChildProcess {
  const script = `
    import pino from 'pino';
    import { ClusterRedis } from ${JSON.stringify(path.resolve('server/cluster/cluster-redis.ts'))};
    import { NodeRegistry } from ${JSON.stringify(path.resolve('server/cluster/node-registry.ts'))};
    const redis = await ClusterRedis.connect({ url: ${JSON.stringify(REDIS_URL)}, log: pino({ level: 'silent' }) });
    await NodeRegistry.start({ redis, prefix: ${JSON.stringify(prefix)}, nodeName: ${JSON.stringify(nodeName)},
      nodeUrl: () => 'http://${nodeName}.test:3000', log: pino({ level: 'silent' }), beatMs: ${BEAT_MS} });
    setInterval(() => {}, 1000);`;
  return spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
}

describe('NodeRegistry', () => {
  const open: NodeRegistry[] = [];
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const r of open) await r.close();
    for (const c of connections) await c.close();
  });

  it('knows the live nodes and their URLs; a closing node is gone at once for the others', async () => {
    await requireRedis();
    const a = await registry('a');
    const b = await registry('b');
    open.push(a, b);
    const joined: string[] = [];
    a.on('joined', (node) => joined.push(node));
    await a.beat();
    expect(a.alive().sort()).toEqual(['a', 'b']);
    expect(joined).toEqual(['b']);
    expect(await a.urlOf('b')).toBe('http://b.test:3000');

    const gone: string[] = [];
    a.on('gone', (node) => gone.push(node));
    await b.close();
    expect(b.closed).toBe(true);
    await a.beat();
    expect(gone).toEqual(['b']);
    expect(a.isAlive('b')).toBe(false);
    expect(await a.urlOf('b')).toBeUndefined();
  });

  it('reports a killed node gone, once, on every node that saw it', async () => {
    const child = registryProcess('killed');
    children.push(child);
    const c = await registry('c');
    const d = await registry('d');
    open.push(c, d);
    await expect.poll(() => c.isAlive('killed') && d.isAlive('killed'), { timeout: 15_000 }).toBe(true);
    const gone: string[] = [];
    c.on('gone', (node) => gone.push(`c saw ${node}`));
    d.on('gone', (node) => gone.push(`d saw ${node}`));
    child.kill('SIGKILL');
    await expect.poll(() => gone.length, { timeout: 15_000 }).toBe(2);
    // Several more beats: nobody reports it again.
    await new Promise((resolve) => setTimeout(resolve, 5 * BEAT_MS));
    expect(gone.sort()).toEqual(['c saw killed', 'd saw killed']);
    expect(c.alive()).not.toContain('killed');
  });
});
