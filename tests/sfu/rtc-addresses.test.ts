// Which addresses the media server announces to browsers: every usable address of this machine by default, the
// configured ones behind NAT, and one plain line for a configuration that cannot work. The last test binds real
// WebRtcServers with this machine's own interfaces.
import os from 'node:os';
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../server/config-error.ts';
import { loadConfig } from '../../server/config.ts';
import { parseAnnouncedAddresses, planRtcAddresses } from '../../server/sfu/rtc-addresses.ts';
import { WorkerPool } from '../../server/sfu/worker-pool.ts';
import { createLogger } from '../../server/log.ts';

const v4 = (address: string, internal = false): NetworkInterfaceInfo => ({
  address,
  family: 'IPv4',
  internal,
  netmask: internal ? '255.0.0.0' : '255.255.255.0',
  mac: '00:00:00:00:00:00',
  cidr: null,
});
const v6 = (address: string, internal = false): NetworkInterfaceInfo => ({
  address,
  family: 'IPv6',
  internal,
  netmask: 'ffff:ffff:ffff:ffff::',
  mac: '00:00:00:00:00:00',
  scopeid: 0,
  cidr: null,
});

/** A school server: loopback, a LAN interface (IPv4 + IPv6 with a link-local one) and a Wi-Fi interface. */
const school = {
  lo: [v4('127.0.0.1', true), v6('::1', true)],
  eth0: [v4('10.0.0.5'), v6('fd00::5'), v6('fe80::1')],
  wlan0: [v4('192.168.1.20')],
};

describe('announced addresses', () => {
  it('announces every usable IPv4 address, interfaces before loopback, when nothing is configured', () => {
    const plan = planRtcAddresses('0.0.0.0', [], school);
    expect(plan.announced).toEqual(['10.0.0.5', '192.168.1.20', '127.0.0.1']);
    expect(plan.endpoints).toEqual([{ ip: '10.0.0.5' }, { ip: '192.168.1.20' }, { ip: '127.0.0.1' }]);
    expect(plan.warnings).toEqual([]);
  });

  it('listening on :: adds the IPv6 addresses a browser can name (no link-local)', () => {
    const plan = planRtcAddresses('::', [], school);
    expect(plan.announced).toEqual(['10.0.0.5', 'fd00::5', '192.168.1.20', '127.0.0.1', '::1']);
  });

  it('warns in plain words when only this machine can connect', () => {
    const loopbackOnly = planRtcAddresses('0.0.0.0', [], { lo: school.lo });
    expect(loopbackOnly.announced).toEqual(['127.0.0.1']);
    expect(loopbackOnly.warnings[0]).toMatch(/loopback only: browsers on other machines cannot/);
    expect(planRtcAddresses('127.0.0.1', [], school).warnings).toHaveLength(1);
    expect(planRtcAddresses('10.0.0.5', [], school)).toEqual({ endpoints: [{ ip: '10.0.0.5' }], announced: ['10.0.0.5'], warnings: [] });
  });

  it('one announced address keeps the wildcard socket (NAT, containers)', () => {
    const plan = planRtcAddresses('0.0.0.0', ['203.0.113.7'], school);
    expect(plan.endpoints).toEqual([{ ip: '0.0.0.0', announcedAddress: '203.0.113.7' }]);
    expect(plan.announced).toEqual(['203.0.113.7']);
  });

  it('several announced addresses: local ones bound as they are, a public one carried by a free interface', () => {
    const plan = planRtcAddresses('0.0.0.0', ['203.0.113.7', '192.168.1.20', '127.0.0.1'], school);
    expect(plan.endpoints).toEqual([
      { ip: '10.0.0.5', announcedAddress: '203.0.113.7', exposeInternalIp: true },
      { ip: '192.168.1.20' },
      { ip: '127.0.0.1' },
    ]);
    expect(plan.announced).toEqual(['203.0.113.7', '10.0.0.5', '192.168.1.20', '127.0.0.1']);
  });

  it('refuses what cannot work with one plain line', () => {
    const refusal = (f: () => unknown): string => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('expected a refusal');
    };
    expect(refusal(() => planRtcAddresses('10.9.9.9', [], school))).toMatch(
      /^LECTERN_LISTEN_IP: 10\.9\.9\.9 is not an address of this machine/,
    );
    expect(refusal(() => planRtcAddresses('example', [], school))).toMatch(/^LECTERN_LISTEN_IP: "example" is not an IP address/);
    expect(refusal(() => planRtcAddresses('10.0.0.5', ['203.0.113.7', '198.51.100.1'], school))).toMatch(/gives one socket/);
    expect(refusal(() => planRtcAddresses('0.0.0.0', ['203.0.113.7', '198.51.100.1', '198.51.100.2'], school))).toMatch(
      /198\.51\.100\.2 is not an address of this machine, and no interface is left to carry it/,
    );
    expect(refusal(() => parseAnnouncedAddresses('0.0.0.0'))).toMatch(/wildcard/);
    expect(refusal(() => parseAnnouncedAddresses('10.0.0.5, not an address!'))).toMatch(/"not an address!" is neither/);
    expect(refusal(() => loadConfig({ LECTERN_RTC_MIN_PORT: '5000', LECTERN_RTC_MAX_PORT: '4000' }))).toMatch(/above LECTERN_RTC_MAX_PORT/);
    expect(refusal(() => loadConfig({ LECTERN_ANNOUNCED_IP: '0.0.0.0' }))).not.toContain('\n');
    for (const message of [refusal(() => loadConfig({ PORT: 'x', LECTERN_WORKERS: '0' }))]) expect(message.split('\n')).toHaveLength(1);
  });

  it('parses a comma-separated list, host names included, without duplicates', () => {
    expect(parseAnnouncedAddresses(' 203.0.113.7, media.example.org ,203.0.113.7')).toEqual(['203.0.113.7', 'media.example.org']);
    expect(parseAnnouncedAddresses(undefined)).toEqual([]);
    expect(loadConfig({}).media.announcedIps).toEqual([]);
  });

  it("binds real WebRtcServers on this machine's own addresses, every worker on its own port, and reports a taken port", async () => {
    const log = createLogger('silent');
    const options = {
      size: 2,
      workerBin: process.env.MEDIASOUP_WORKER_BIN,
      listenIp: '0.0.0.0',
      announcedIps: [],
      rtcMinPort: 41000,
      rtcMaxPort: 49999,
      log,
    };
    const interfaces = os.networkInterfaces();
    const expected = planRtcAddresses('0.0.0.0', [], interfaces).announced;
    expect(expected).toContain('127.0.0.1');
    expect(expected.length).toBe(
      Object.values(interfaces)
        .flat()
        .filter((i) => i?.family === 'IPv4').length,
    );
    // A free pair of consecutive ports: a first pool with port 0 tells us one, we then ask for it explicitly.
    const pool = new WorkerPool({ ...options, rtcPort: 0 });
    await pool.start();
    const free = pool.rtcPorts[0]!;
    pool.close();
    const fixed = new WorkerPool({ ...options, rtcPort: free });
    await fixed.start();
    try {
      expect(fixed.rtcPorts).toEqual([free, free + 1]);
      for (const w of fixed.all()) {
        const dump = await w.webRtcServer.dump();
        expect(dump.udpSockets.map((s) => s.ip).sort()).toEqual([...expected].sort());
        expect(dump.tcpServers.map((s) => s.port)).toEqual(expected.map(() => w.port));
      }
      // The same ports again while they are taken: one plain line, and no worker left running.
      const clash = new WorkerPool({ ...options, rtcPort: free });
      await expect(clash.start()).rejects.toThrow(new RegExp(`^WebRTC port ${free} is already in use`));
      expect(clash.all()).toEqual([]);
    } finally {
      fixed.close();
    }
  });
});
