// docker-compose.yml, the Dockerfile's runtime environment and ops/nginx/cluster.conf checked against each other and
// against the server: Debian's docker-compose (1.29) resolves the file (interpolation, anchors, required variables),
// every app node's resolved environment must pass server/config.ts's own loader, the nodes must not collide (names,
// addresses, WebRTC ports, data directories), and the load balancer, Prometheus, coturn, MinIO and PostgreSQL must
// agree with what the nodes are told. No Docker engine is needed: nothing is started but `docker-compose config` and
// `nginx -t`.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SESSION_COOKIE } from '../../server/contracts/auth.ts';
import { EnvSchema, loadConfig, type Config } from '../../server/config.ts';
import { nginxConfig } from '../../scripts/cluster/nginx-config.ts';

const run = promisify(execFile);
const REQUIRED = {
  LECTERN_MEDIA_SECRET: 'compose-test-media-secret-0123456789',
  LECTERN_TURN_SECRET: 'compose-test-turn-secret-0123456789',
};

interface ComposeService {
  build?: unknown;
  image?: string;
  environment?: Record<string, string | number | null>;
  networks?: Record<string, { ipv4_address?: string } | null>;
  ports?: { published: number | string; target: number; protocol?: string }[];
  depends_on?: Record<string, unknown>;
  command?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
  networks: Record<string, { ipam?: { config?: { subnet: string }[] } }>;
}

/** `docker-compose config` with only `vars` set (an empty env file, nothing from this shell). */
async function composeConfig(vars: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-compose-'));
  const envFile = path.join(dir, 'empty.env');
  fs.writeFileSync(envFile, '');
  try {
    return await run('docker-compose', ['--env-file', envFile, '-f', 'docker-compose.yml', '--profile', 'monitoring', 'config'], {
      env: { PATH: process.env.PATH, HOME: dir, ...vars },
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The ENV instructions of the Dockerfile's last stage (the image the app services run). */
function runtimeImageEnv(dockerfile: string): Record<string, string> {
  const stages = dockerfile.replace(/\\\n/g, ' ').split(/^FROM /m);
  const env: Record<string, string> = {};
  for (const line of stages.at(-1)!.split('\n')) {
    const args = /^ENV\s+(.*)$/.exec(line.trim())?.[1] ?? '';
    for (const [, key = '', value = ''] of args.matchAll(/([A-Z_][A-Z0-9_]*)=(\S*)/g)) env[key] = value;
  }
  return env;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}
function inSubnet(ip: string, cidr: string): boolean {
  const [base = '', bits = ''] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4ToInt(ip) / size) === Math.floor(ipv4ToInt(base) / size);
}

/** "proto:port" for every port the service publishes unchanged (browsers reach the port the WebRtcServer announces). */
function publishedPorts(service: ComposeService): Set<string> {
  const out = new Set<string>();
  for (const p of service.ports ?? []) if (Number(p.published) === p.target) out.add(`${p.protocol ?? 'tcp'}:${p.target}`);
  return out;
}

/** The directives of the `location / { … }` block and the upstream `server` targets of an nginx configuration. */
function nginxParts(conf: string): { upstreams: string[]; hash: string | undefined; location: string[] } {
  const upstream = /upstream lectern \{([^}]*)\}/.exec(conf)?.[1] ?? '';
  const location = /location \/ \{([^}]*)\}/.exec(conf)?.[1] ?? '';
  return {
    upstreams: [...upstream.matchAll(/^\s*server\s+(\S+)/gm)].map((m) => m[1] ?? ''),
    hash: /^\s*hash\s+(.+);/m.exec(upstream)?.[1],
    location: location
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  };
}

describe('docker-compose.yml', () => {
  let compose: Compose;
  let imageEnv: Record<string, string>;
  /** The Lectern nodes: the services built from this repository's Dockerfile. */
  let apps: [string, ComposeService][];
  let configs: Map<string, Config>;
  const service = (name: string): ComposeService => {
    const found = compose.services[name];
    if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
    return found;
  };

  beforeAll(async () => {
    const { stdout } = await composeConfig(REQUIRED);
    compose = parse(stdout) as Compose;
    imageEnv = runtimeImageEnv(fs.readFileSync('Dockerfile', 'utf8'));
    apps = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);
    configs = new Map(apps.map(([name, s]) => [name, loadConfig({ ...imageEnv, ...(s.environment as Record<string, string>) })] as const));
  });

  it('refuses to resolve without each required secret, naming it', async () => {
    for (const missing of Object.keys(REQUIRED)) {
      const vars = { ...REQUIRED, [missing]: '' };
      const failure = await composeConfig(vars).then(
        () => undefined,
        (e: { stderr: string }) => e.stderr,
      );
      expect(failure, `docker-compose config without ${missing}`).toContain(`set ${missing}`);
    }
  });

  it('runs three Lectern nodes from the Dockerfile, whose image sets only variables the server reads', () => {
    expect(apps.map(([name]) => name)).toEqual(['app1', 'app2', 'app3']);
    const known = new Set(Object.keys(EnvSchema.shape));
    expect(Object.keys(imageEnv).filter((k) => !known.has(k))).toEqual([]);
    expect(imageEnv.PORT).toBeDefined();
    for (const [name, service] of apps) {
      const unknown = Object.keys(service.environment ?? {}).filter((k) => !known.has(k));
      expect(unknown, `${name} sets variables server/config.ts does not read`).toEqual([]);
      // The variables a node of a cluster cannot do without (README "Several nodes").
      for (const key of ['DATABASE_URL', 'REDIS_URL', 'LECTERN_MEDIA_SECRET', 'LECTERN_NODE_NAME', 'LECTERN_NODE_URL', 'LECTERN_PIPE_IP'])
        expect(service.environment?.[key], `${name}: ${key}`).toBeTruthy();
    }
  });

  it('gives every node its own name, data directory, pipe address on the compose network and published WebRTC ports', () => {
    const [networkName, network] = Object.entries(compose.networks)[0] ?? ['', {}];
    const subnet = network.ipam?.config?.[0]?.subnet;
    expect(subnet).toBeDefined();
    const seen = { names: new Set<string>(), dirs: new Set<string>(), ips: new Set<string>(), ports: new Set<string>() };
    for (const [name, service] of apps) {
      const config = configs.get(name)!;
      seen.names.add(config.cluster.nodeName);
      seen.dirs.add(config.dataDir);
      seen.ips.add(config.cluster.pipeIp);
      // Other nodes send class media to the pipe address: it must be this container's fixed address.
      expect(service.networks?.[networkName]?.ipv4_address, `${name}'s address`).toBe(config.cluster.pipeIp);
      expect(inSubnet(config.cluster.pipeIp, subnet!), `${name}'s ${config.cluster.pipeIp} in ${subnet}`).toBe(true);
      expect(config.nodeUrl).toBe(`http://${name}:${config.port}`);
      expect(config.redisUrl && config.databaseUrl && config.mediaSecret).toBeTruthy();
      // Worker i listens on rtcPort + i, UDP and TCP: each must be published as itself, and no two nodes share one.
      const published = publishedPorts(service);
      for (let i = 0; i < config.media.workers; i++) {
        for (const proto of ['udp', 'tcp']) {
          const port = `${proto}:${config.media.rtcPort + i}`;
          expect(published.has(port), `${name} publishes ${port}`).toBe(true);
          expect(seen.ports.has(port), `${port} published once`).toBe(false);
          seen.ports.add(port);
        }
      }
    }
    expect([seen.names.size, seen.dirs.size, seen.ips.size]).toEqual([apps.length, apps.length, apps.length]);
    expect(new Set(apps.map(([, s]) => s.environment?.LECTERN_MEDIA_SECRET)).size).toBe(1);
  });

  it('puts exactly the app nodes behind the load balancer, sticky by the session cookie, as npm run cluster does', () => {
    const lb = service('lb');
    expect(lb.ports?.some((p) => Number(p.published) === 3000 && p.target === 80)).toBe(true);
    expect(Object.keys(lb.depends_on ?? {}).sort()).toEqual(apps.map(([name]) => name).sort());
    const ops = nginxParts(fs.readFileSync('ops/nginx/cluster.conf', 'utf8'));
    expect(ops.upstreams.sort()).toEqual(apps.map(([name]) => `${name}:${configs.get(name)!.port}`).sort());
    expect(ops.hash).toBe(`$cookie_${SESSION_COOKIE} consistent`);
    // The same proxying as the configuration npm run cluster writes (and its tests exercise).
    const generated = nginxParts(nginxConfig({ listen: '3000', nodePorts: [3101], dir: '/tmp', asRoot: false }));
    expect(ops.location).toEqual(generated.location);
  });

  describe('nginx', () => {
    let dir: string;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-compose-nginx-'));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('accepts ops/nginx/cluster.conf (nginx -t, the app nodes standing for loopback)', async () => {
      // The compose names resolve only on the compose network; nginx -t resolves upstream names, so they become 127.0.0.1.
      const names = new RegExp(`\\b(${apps.map(([name]) => name).join('|')}):`, 'g');
      fs.writeFileSync(path.join(dir, 'lb.conf'), fs.readFileSync('ops/nginx/cluster.conf', 'utf8').replace(names, '127.0.0.1:'));
      fs.writeFileSync(
        path.join(dir, 'nginx.conf'),
        `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {}\nhttp {\n  access_log off;\n  include ${dir}/lb.conf;\n}\n`,
      );
      const { stderr } = await run('nginx', ['-t', '-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`]);
      expect(stderr).toContain('test is successful');
    });
  });

  it('lets Prometheus scrape each node, not the balancer', () => {
    const prometheus = parse(fs.readFileSync('ops/prometheus/prometheus.yml', 'utf8')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = prometheus.scrape_configs.find((j) => j.job_name === 'lectern')!.static_configs.flatMap((c) => c.targets);
    expect(targets.sort()).toEqual(apps.map(([name]) => `${name}:${configs.get(name)!.port}`).sort());
  });

  it('hands the nodes the credentials and addresses coturn, PostgreSQL and MinIO are started with', () => {
    const config = configs.get('app1')!;
    // coturn: the shared secret, and every TURN URL on a port it listens on (turns: on its TLS port).
    const coturn = Object.fromEntries(
      (service('coturn').command ?? []).map((arg) => arg.replace(/^--/, '').split('=') as [string, string | undefined]),
    );
    expect(coturn['static-auth-secret']).toBe(REQUIRED.LECTERN_TURN_SECRET);
    expect(config.media.turn?.secret).toBe(REQUIRED.LECTERN_TURN_SECRET);
    expect(config.media.turn?.urls.length).toBeGreaterThan(0);
    for (const url of config.media.turn!.urls) {
      const port = /:(\d+)(?:\?|$)/.exec(url)?.[1];
      expect(port, url).toBe(url.startsWith('turns:') ? coturn['tls-listening-port'] : coturn['listening-port']);
    }
    // PostgreSQL: the user, password and database it creates.
    const pg = service('postgres').environment!;
    const db = new URL(config.databaseUrl!);
    expect([db.hostname, db.username, db.password, db.pathname]).toEqual([
      'postgres',
      pg.POSTGRES_USER,
      pg.POSTGRES_PASSWORD,
      `/${pg.POSTGRES_DB}`,
    ]);
    expect(new URL(config.redisUrl!).hostname).toBe('redis');
    // MinIO: its root credentials, and the bucket minio-bucket creates.
    const minio = service('minio').environment!;
    const store = config.objectStorage!;
    expect([store.accessKeyId, store.secretAccessKey]).toEqual([minio.MINIO_ROOT_USER, minio.MINIO_ROOT_PASSWORD]);
    expect(new URL(store.endpoint!).hostname).toBe('minio');
    expect(service('minio-bucket').command).toContain(`local/${store.bucket}`);
  });
});
