// A network namespace that plays a student's network: a veth pair to this machine (no default route, so it can
// reach nothing but this machine's side of the pair), nftables rules inside it (a firewall that blocks UDP, or
// lets through only some TCP ports), and a Chromium launched inside it. Deleting the namespace removes the veth
// pair and its rules with it; namespaces a crashed run left behind are swept when the next one starts.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from './browser.ts';

const PREFIX = 'lctn';

function run(...args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes namespaces of ours whose test process is gone (a run killed before its clean-up). */
function sweepStale(): void {
  for (const line of run('ip', 'netns', 'list').split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const match = new RegExp(`^${PREFIX}(\\d+)x\\d+$`).exec(name);
    if (match && !alive(Number(match[1]))) execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  }
}

let counter = 0;

export interface StudentNetwork {
  name: string;
  /** This machine's address on the pair (what the namespace reaches), and the namespace's own. */
  hostIp: string;
  nsIp: string;
  /** Replaces the namespace's firewall with these nftables rules (an `output` chain body, veth only). */
  firewall(rules: string[]): void;
  /** Chromium running inside the namespace, treating `origins` as secure (http on the pair's address). */
  launchChromium(origins: string[]): Promise<Browser>;
  close(): void;
}

export function createStudentNetwork(): StudentNetwork {
  sweepStale();
  const n = ++counter;
  const name = `${PREFIX}${process.pid}x${n}`;
  // Interface names are at most 15 characters.
  const hostIf = `lch${process.pid % 100000}${n}`;
  const nsIf = `lcs${process.pid % 100000}${n}`;
  // 10.231.0.0/16, one /30 per namespace: addresses only this machine and the namespace use.
  const block = (process.pid * 8 + n * 4) % 65536;
  const base = `10.231.${Math.floor(block / 256)}.`;
  const low = block % 256;
  const hostIp = `${base}${low + 1}`;
  const nsIp = `${base}${low + 2}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-netns-'));
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    // The host side goes with its peer; this is only for a half-made pair.
    try {
      execFileSync('ip', ['link', 'del', hostIf], { stdio: 'ignore' });
    } catch {
      /* already gone with the namespace */
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('ip', 'netns', 'add', name);
    run('ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    run('ip', 'link', 'set', nsIf, 'netns', name);
    run('ip', 'addr', 'add', `${hostIp}/30`, 'dev', hostIf);
    run('ip', 'link', 'set', hostIf, 'up');
    run('ip', 'netns', 'exec', name, 'ip', 'addr', 'add', `${nsIp}/30`, 'dev', nsIf);
    run('ip', 'netns', 'exec', name, 'ip', 'link', 'set', nsIf, 'up');
    run('ip', 'netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  } catch (err) {
    close();
    throw err;
  }
  const wrapper = path.join(dir, 'chromium-in-netns');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${name} ${process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'} "$@"\n`, {
    mode: 0o755,
  });
  return {
    name,
    hostIp,
    nsIp,
    firewall(rules) {
      const script = [
        'flush ruleset',
        'table inet student {',
        '  chain output {',
        '    type filter hook output priority 0; policy accept;',
        ...rules.map((r) => `    oifname "${nsIf}" ${r}`),
        '  }',
        '}',
      ].join('\n');
      execFileSync('ip', ['netns', 'exec', name, 'nft', '-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'] });
    },
    async launchChromium(origins) {
      const previous = process.env.CHROMIUM_PATH;
      process.env.CHROMIUM_PATH = wrapper;
      try {
        return await launchChromium([`--unsafely-treat-insecure-origin-as-secure=${origins.join(',')}`]);
      } finally {
        if (previous === undefined) delete process.env.CHROMIUM_PATH;
        else process.env.CHROMIUM_PATH = previous;
      }
    },
    close,
  };
}
