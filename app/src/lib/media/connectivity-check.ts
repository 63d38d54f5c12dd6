// The browser's side of the pre-join connectivity check: three probes against the media server, at once, each
// a data channel over one kind of path: UDP only, TCP only (the server's candidates filtered), and a TURN relay
// only (iceTransportPolicy 'relay' with the credentials the server handed out). Each says whether it connected
// and its round-trip time from ICE statistics; the summary says in plain words what the class will use.
// Self-contained (no imports): the page passes how to ask the server (the Socket.io request helper).

export interface ProbePath {
  ok: boolean;
  /** Round-trip time to the media server over this path (ms), when connected. */
  rttMs?: number;
  /** For the relay: how the browser reached the TURN server (udp, tcp, tls). */
  relayProtocol?: string;
  /** Why it did not connect, in plain words. */
  reason?: string;
}

export interface ConnectivityReport {
  udp: ProbePath;
  tcp: ProbePath;
  turn: ProbePath;
  /** What the class will use: 'udp' | 'tcp' | 'turn', or 'hls' when none connects. */
  best: 'udp' | 'tcp' | 'turn' | 'hls';
  summary: string;
}

type Ask = (event: string, payload: unknown) => Promise<unknown>;

interface ProbeInfo {
  probeId: string;
  iceParameters: { usernameFragment: string; password: string };
  iceCandidates: { foundation: string; priority: number; address: string; protocol: 'udp' | 'tcp'; port: number; tcpType?: string }[];
  dtlsParameters: { fingerprints: { algorithm: string; value: string }[] };
  sctpParameters?: { port: number; maxMessageSize: number };
  iceServers: RTCIceServer[];
}

const DEFAULT_TIMEOUT_MS = 7000;

/** The media server's answer to our data-channel offer (it is ICE-lite and the DTLS server). */
function answerSdp(info: ProbeInfo, mid: string, kind: 'udp' | 'tcp' | 'turn'): string {
  const candidates = info.iceCandidates.filter((c) => kind === 'turn' || c.protocol === kind);
  const fingerprint = info.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? info.dtlsParameters.fingerprints.at(-1)!;
  return [
    'v=0',
    'o=- 1 1 IN IP4 0.0.0.0',
    's=-',
    't=0 0',
    'a=ice-lite',
    `a=group:BUNDLE ${mid}`,
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    `a=mid:${mid}`,
    `a=ice-ufrag:${info.iceParameters.usernameFragment}`,
    `a=ice-pwd:${info.iceParameters.password}`,
    `a=fingerprint:${fingerprint.algorithm} ${fingerprint.value}`,
    'a=setup:passive',
    `a=sctp-port:${info.sctpParameters?.port ?? 5000}`,
    `a=max-message-size:${info.sctpParameters?.maxMessageSize ?? 262144}`,
    ...candidates.map(
      (c) =>
        `a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${c.address} ${c.port} typ host` +
        (c.protocol === 'tcp' ? ` tcptype ${c.tcpType ?? 'passive'}` : ''),
    ),
    'a=end-of-candidates',
    '',
  ].join('\r\n');
}

async function selectedPair(pc: RTCPeerConnection): Promise<{ rttMs?: number; relayProtocol?: string }> {
  const stats = await pc.getStats();
  let out: { rttMs?: number; relayProtocol?: string } = {};
  stats.forEach((s) => {
    if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
    const pair = stats.get(s.selectedCandidatePairId);
    const local = stats.get(pair?.localCandidateId);
    out = {
      ...(typeof pair?.currentRoundTripTime === 'number' ? { rttMs: Math.round(pair.currentRoundTripTime * 1000) } : {}),
      ...(local?.candidateType === 'relay' ? { relayProtocol: local.relayProtocol } : {}),
    };
  });
  return out;
}

async function probe(ask: Ask, kind: 'udp' | 'tcp' | 'turn', timeoutMs: number): Promise<ProbePath> {
  const info = (await ask('net:probe', {})) as ProbeInfo;
  const turnServers = info.iceServers.filter((s) => [s.urls].flat().some((u) => /^turns?:/.test(u)));
  if (kind === 'turn' && turnServers.length === 0) {
    await ask('net:probeClose', { probeId: info.probeId }).catch(() => {});
    return { ok: false, reason: 'No relay server is configured' };
  }
  const pc = new RTCPeerConnection(kind === 'turn' ? { iceServers: turnServers, iceTransportPolicy: 'relay' } : { iceServers: [] });
  try {
    const channel = pc.createDataChannel('probe');
    const opened = new Promise<boolean>((resolve) => {
      channel.onopen = () => resolve(true);
      pc.onconnectionstatechange = () => pc.connectionState === 'failed' && resolve(false);
      setTimeout(() => resolve(false), timeoutMs);
    });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const sdp = offer.sdp ?? '';
    const mid = /^a=mid:(\S+)/m.exec(sdp)?.[1] ?? '0';
    const ours = /^a=fingerprint:(\S+) (\S+)/m.exec(sdp);
    if (!ours) return { ok: false, reason: 'This browser offered no DTLS fingerprint' };
    await ask('net:probeConnect', {
      probeId: info.probeId,
      dtlsParameters: { role: 'client', fingerprints: [{ algorithm: ours[1], value: ours[2] }] },
    });
    await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp(info, mid, kind) });
    if (!(await opened)) {
      return {
        ok: false,
        reason: kind === 'turn' ? 'The relay server cannot be reached' : `The media server cannot be reached over ${kind.toUpperCase()}`,
      };
    }
    // The round-trip time comes with the first consent check answered after connecting.
    let pair = await selectedPair(pc);
    for (let i = 0; i < 20 && pair.rttMs === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      pair = await selectedPair(pc);
    }
    return { ok: true, ...pair };
  } finally {
    pc.close();
    await ask('net:probeClose', { probeId: info.probeId }).catch(() => {});
  }
}

function summarise(udp: ProbePath, tcp: ProbePath, turn: ProbePath): Pick<ConnectivityReport, 'best' | 'summary'> {
  const rtt = (p: ProbePath): string => (p.rttMs === undefined ? '' : ` (round trip ${p.rttMs} ms)`);
  if (udp.ok) return { best: 'udp', summary: `Your connection is ready for live classes${rtt(udp)}.` };
  if (tcp.ok)
    return {
      best: 'tcp',
      summary: `Your network blocks UDP; the class will come over TCP${rtt(tcp)}, which works but may stutter more on a weak link.`,
    };
  if (turn.ok)
    return { best: 'turn', summary: `Your network blocks direct connections; the class will come through our relay server${rtt(turn)}.` };
  return {
    best: 'hls',
    summary:
      'Your network blocks real-time video: you will watch the broadcast, a few seconds behind. ' +
      'Ask your network administrator to allow UDP or TCP to the media server, or to allow the relay server.',
  };
}

/** Runs the three probes at once; `ask` sends a request over the page's Socket.io connection and resolves its data. */
export async function checkConnectivity(ask: Ask, options: { timeoutMs?: number } = {}): Promise<ConnectivityReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const failed = (err: unknown): ProbePath => ({ ok: false, reason: err instanceof Error ? err.message : String(err) });
  const [udp, tcp, turn] = await Promise.all((['udp', 'tcp', 'turn'] as const).map((kind) => probe(ask, kind, timeoutMs).catch(failed)));
  return { udp: udp!, tcp: tcp!, turn: turn!, ...summarise(udp!, tcp!, turn!) };
}
