// Which addresses the WebRtcServers bind and announce to browsers. A browser can only use an ICE candidate whose
// address it can reach, so a wildcard bind (0.0.0.0) must never be announced as such:
// - nothing announced, wildcard listen address: one socket per usable address of this machine (each non-internal
//   interface, then loopback), each announced as itself, so browsers on this machine and on the LAN connect;
// - one announced address (behind NAT, in a container): the wildcard socket, announced as that address;
// - several announced addresses: one socket each, bound to the address itself when it is on this machine, or to
//   one of this machine's interfaces that carries it (a NAT's public address), which is then announced too.
// A configuration that cannot work throws a ConfigError with one plain line.
import net from 'node:net';
import os from 'node:os';
import { ConfigError } from '../config-error.ts';

export interface RtcEndpoint {
  /** Address the UDP socket and TCP server bind. */
  ip: string;
  /** What browsers are told instead of `ip` (NAT, container). */
  announcedAddress?: string;
  /** Announce `ip` as well (after `announcedAddress`): browsers inside the NAT reach it directly. */
  exposeInternalIp?: boolean;
}

export interface RtcAddressPlan {
  endpoints: RtcEndpoint[];
  /** Every address browsers are told, most preferred first. */
  announced: string[];
  /** Configurations that work but only for some browsers, in plain words (logged at start-up). */
  warnings: string[];
}

type Interfaces = NodeJS.Dict<os.NetworkInterfaceInfo[]>;

const WILDCARDS = new Set(['0.0.0.0', '::']);
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

interface LocalAddress {
  address: string;
  family: 4 | 6;
  internal: boolean;
}

/** This machine's addresses a socket can bind and a browser can name: no IPv6 link-local (it needs a zone). */
function localAddresses(interfaces: Interfaces): LocalAddress[] {
  const all: LocalAddress[] = [];
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      const family = info.family === 'IPv4' ? 4 : 6;
      if (family === 6 && /^fe[89ab]/i.test(info.address)) continue;
      if (!all.some((a) => a.address === info.address)) all.push({ address: info.address, family, internal: info.internal });
    }
  }
  // Interfaces before loopback: a browser on another machine tries the addresses that can work first.
  return [...all.filter((a) => !a.internal), ...all.filter((a) => a.internal)];
}

/** Splits LECTERN_ANNOUNCED_IP ("203.0.113.7, 10.0.0.5") and checks each entry names something a browser can reach. */
export function parseAnnouncedAddresses(value: string | undefined): string[] {
  const entries = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const entry of entries) {
    if (WILDCARDS.has(entry)) {
      throw new ConfigError(
        `LECTERN_ANNOUNCED_IP: ${entry} is a wildcard; announce an address browsers can reach (this host's LAN or public address)`,
      );
    }
    if (!net.isIP(entry) && !HOSTNAME.test(entry)) {
      throw new ConfigError(`LECTERN_ANNOUNCED_IP: "${entry}" is neither an IP address nor a host name (use a comma-separated list)`);
    }
  }
  return [...new Set(entries)];
}

function familyOf(address: string): 4 | 6 {
  return net.isIPv6(address) ? 6 : 4;
}

export function planRtcAddresses(listenIp: string, announced: string[], interfaces: Interfaces = os.networkInterfaces()): RtcAddressPlan {
  if (!net.isIP(listenIp))
    throw new ConfigError(`LECTERN_LISTEN_IP: "${listenIp}" is not an IP address (use 0.0.0.0 to listen on every interface)`);
  const locals = localAddresses(interfaces);
  const wildcard = WILDCARDS.has(listenIp);
  // 0.0.0.0 binds IPv4 only; :: binds both (Linux dual-stack).
  const bindable = wildcard ? locals.filter((a) => listenIp === '::' || a.family === 4) : locals;
  const isLocal = (address: string): boolean => locals.some((a) => a.address === address);
  const list = (addresses: string[]): string => addresses.join(', ') || 'none';
  const warnings: string[] = [];

  if (!wildcard && !isLocal(listenIp)) {
    throw new ConfigError(
      `LECTERN_LISTEN_IP: ${listenIp} is not an address of this machine (its addresses: ${list(locals.map((a) => a.address))}); use 0.0.0.0 or one of those`,
    );
  }

  if (announced.length === 0) {
    const endpoints = wildcard ? bindable.map((a) => ({ ip: a.address })) : [{ ip: listenIp }];
    if (endpoints.length === 0) throw new ConfigError('WebRTC: this machine has no network address to listen on');
    const onlyLoopback = endpoints.every((e) => locals.find((a) => a.address === e.ip)?.internal ?? false);
    if (onlyLoopback) {
      warnings.push(
        'WebRTC is reachable on loopback only: browsers on other machines cannot receive the class (listen on 0.0.0.0, or set LECTERN_ANNOUNCED_IP)',
      );
    }
    return { endpoints, announced: endpoints.map((e) => e.ip), warnings };
  }

  if (!wildcard) {
    if (announced.length > 1) {
      throw new ConfigError(
        `LECTERN_ANNOUNCED_IP lists ${announced.length} addresses, but LECTERN_LISTEN_IP=${listenIp} gives one socket: ` +
          'leave LECTERN_LISTEN_IP at 0.0.0.0 to announce several',
      );
    }
    return { endpoints: [{ ip: listenIp, announcedAddress: announced[0]! }], announced, warnings };
  }

  if (announced.length === 1) return { endpoints: [{ ip: listenIp, announcedAddress: announced[0]! }], announced, warnings };

  // Several: each address gets a socket of its own.
  const endpoints: RtcEndpoint[] = [];
  const taken = new Set(announced.filter(isLocal));
  for (const address of announced) {
    if (isLocal(address)) {
      endpoints.push({ ip: address });
      continue;
    }
    const carrier = bindable.find((a) => !a.internal && a.family === familyOf(address) && !taken.has(a.address));
    if (!carrier) {
      throw new ConfigError(
        `LECTERN_ANNOUNCED_IP: ${address} is not an address of this machine, and no interface is left to carry it ` +
          `(each such address needs one of this machine's IPv${familyOf(address)} interfaces; its addresses: ${list(locals.map((a) => a.address))})`,
      );
    }
    taken.add(carrier.address);
    endpoints.push({ ip: carrier.address, announcedAddress: address, exposeInternalIp: true });
  }
  const all = endpoints.flatMap((e) =>
    e.announcedAddress ? (e.exposeInternalIp ? [e.announcedAddress, e.ip] : [e.announcedAddress]) : [e.ip],
  );
  return { endpoints, announced: all, warnings };
}
