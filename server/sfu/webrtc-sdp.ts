// What WHIP and WHEP share on the SDP side: reading an offer's transport part (DTLS fingerprint and role, ICE
// credentials, BUNDLE, unique mids) within bounds, and writing an ICE-lite answer that gives the transport's
// credentials, fingerprint and every candidate (no trickle). Offers are parsed with sdp-transform.
import type { types } from 'mediasoup';
import sdpTransform, { type MediaDescription, type SessionDescription } from 'sdp-transform';
import { z } from 'zod';

/** Largest offer taken: a simulcast offer from a browser is ~10 KB, an encoder's ~2 KB. */
export const MAX_OFFER_BYTES = 32 * 1024;
const MAX_SECTIONS = 8;

/** An offer refused: 400 when it is broken, 415 when it offers nothing the room can use. */
export class SdpRefusal extends Error {
  readonly status: 400 | 415;
  readonly code: string;
  constructor(status: 400 | 415, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const badOffer = (message: string): SdpRefusal => new SdpRefusal(400, 'invalid_sdp', message);

/** The bounds an offer must keep before anything reads it in depth. */
export const OfferText = z
  .string()
  .max(MAX_OFFER_BYTES, { message: `The offer is larger than ${MAX_OFFER_BYTES} bytes` })
  .refine((s) => s.trimStart().startsWith('v=0'), { message: 'An SDP offer starts with v=0' });

export interface OfferSection {
  media: MediaDescription;
  mid: string;
  kind: 'audio' | 'video' | undefined;
}

export interface ReadOffer {
  sdp: SessionDescription;
  sections: OfferSection[];
  /** The client's DTLS side: its fingerprint, and the role it takes (ours is the other one). */
  remoteDtls: types.DtlsParameters;
}

export function fmtpOf(media: MediaDescription, payload: number): Record<string, unknown> {
  const config = media.fmtp?.find((f) => f.payload === payload)?.config;
  return config ? (sdpTransform.parseParams(config) as Record<string, unknown>) : {};
}

/** Parses and checks the transport part of an offer; each section still has to be read by its user. */
export function readOffer(text: string): ReadOffer {
  const checked = OfferText.safeParse(text);
  if (!checked.success) throw badOffer(checked.error.issues.map((i) => i.message).join('; '));
  let sdp: SessionDescription;
  try {
    sdp = sdpTransform.parse(text);
  } catch (err) {
    throw badOffer(`The offer is not valid SDP: ${(err as Error).message}`);
  }
  const media = sdp.media ?? [];
  if (media.length === 0) throw badOffer('The offer has no media sections');
  if (media.length > MAX_SECTIONS) throw badOffer(`At most ${MAX_SECTIONS} media sections, the offer has ${media.length}`);

  const fingerprint = sdp.fingerprint ?? media.find((m) => m.fingerprint)?.fingerprint;
  if (!fingerprint) throw badOffer('The offer has no DTLS fingerprint (a=fingerprint)');
  const algorithm = fingerprint.type.toLowerCase();
  if (!['sha-1', 'sha-224', 'sha-256', 'sha-384', 'sha-512'].includes(algorithm))
    throw badOffer(`Unknown fingerprint algorithm ${fingerprint.type}`);
  const setup = sdp.setup ?? media.find((m) => m.setup)?.setup ?? 'actpass';
  // The client's DTLS role: it says passive only when it wants to be the server; otherwise it is the client.
  const remoteDtls: types.DtlsParameters = {
    role: setup === 'passive' ? 'server' : 'client',
    fingerprints: [{ algorithm: algorithm as types.FingerprintAlgorithm, value: fingerprint.hash.toUpperCase() }],
  };
  if (!(sdp.iceUfrag ?? media.find((m) => m.iceUfrag)?.iceUfrag)) throw badOffer('The offer has no ICE credentials (a=ice-ufrag)');

  const bundle = (sdp.groups ?? []).find((g) => g.type === 'BUNDLE');
  const bundled = new Set(bundle ? String(bundle.mids).split(' ') : []);
  const mids = new Set<string>();
  const sections = media.map((m): OfferSection => {
    const mid = m.mid === undefined ? undefined : String(m.mid);
    if (mid === undefined || mid.length === 0 || mid.length > 32)
      throw badOffer('Every media section needs an a=mid of at most 32 characters');
    if (mids.has(mid)) throw badOffer(`mid ${mid} appears twice`);
    mids.add(mid);
    const kind = (m.type === 'audio' || m.type === 'video') && m.port !== 0 ? m.type : undefined;
    if (kind) {
      if (media.length > 1 && !bundled.has(mid))
        throw badOffer(`mid ${mid} is not in the offer's BUNDLE group: Lectern carries all media on one transport`);
      if (!m.rtcpMux) throw badOffer(`mid ${mid}: Lectern needs rtcp-mux`);
      if ((m.rtp ?? []).length > 64) throw badOffer(`mid ${mid}: too many payload types`);
    }
    return { media: m, mid, kind };
  });
  return { sdp, sections, remoteDtls };
}

/** The answer to a section the room does not take (port 0). */
export function rejectedSection(media: MediaDescription, mid: string): MediaDescription {
  return {
    type: media.type,
    port: 0,
    protocol: media.protocol,
    payloads: media.payloads,
    rtp: [],
    fmtp: [],
    mid,
    direction: 'inactive',
  } as MediaDescription;
}

/** An accepted section: the codecs (with RTX), header extensions and simulcast RIDs both sides agreed on. */
export function mediaSection(
  media: MediaDescription,
  mid: string,
  direction: 'recvonly' | 'sendonly',
  codecs: types.RtpCodecParameters[],
  extensions: NonNullable<MediaDescription['ext']>,
  rids: string[],
): MediaDescription {
  const fmtp = codecs
    .map((c) => ({
      payload: c.payloadType,
      config: Object.entries(c.parameters ?? {})
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(';'),
    }))
    .filter((f) => f.config.length > 0);
  return {
    type: media.type,
    port: 9,
    protocol: 'UDP/TLS/RTP/SAVPF',
    payloads: codecs.map((c) => c.payloadType).join(' '),
    connection: { version: 4, ip: '0.0.0.0' },
    mid,
    direction,
    rtp: codecs.map((c) => ({
      payload: c.payloadType,
      codec: c.mimeType.split('/')[1]!,
      rate: c.clockRate,
      ...(c.channels && c.channels > 1 ? { encoding: c.channels } : {}),
    })),
    fmtp,
    rtcpFb: codecs.flatMap((c) =>
      (c.rtcpFeedback ?? []).map((fb) => ({ payload: c.payloadType, type: fb.type, ...(fb.parameter ? { subtype: fb.parameter } : {}) })),
    ),
    ext: extensions.map((e) => ({ value: e.value, uri: e.uri })),
    rtcpMux: 'rtcp-mux',
    ...(media.rtcpRsize ? { rtcpRsize: 'rtcp-rsize' } : {}),
    ...(rids.length > 0 ? { rids: rids.map((id) => ({ id, direction: 'recv' })), simulcast: { dir1: 'recv', list1: rids.join(';') } } : {}),
  } as MediaDescription;
}

/** What the answer needs from the transport the room made for the client. */
export interface AnswerTransport {
  iceParameters: types.IceParameters;
  iceCandidates: types.IceCandidate[];
  dtlsParameters: types.DtlsParameters;
}

/** An ICE-lite answer: the sections (in the offer's order) with the transport's part added to each accepted one. */
export function writeAnswer(
  sections: MediaDescription[],
  remoteDtls: types.DtlsParameters,
  transport: AnswerTransport,
  sessionVersion = Date.now(),
): string {
  const fingerprint =
    transport.dtlsParameters.fingerprints.find((f) => f.algorithm === 'sha-256') ?? transport.dtlsParameters.fingerprints[0]!;
  const setup = remoteDtls.role === 'server' ? 'active' : 'passive';
  const candidates = transport.iceCandidates.map((c) => ({
    foundation: c.foundation,
    component: 1,
    transport: c.protocol,
    priority: c.priority,
    ip: c.address,
    port: c.port,
    type: c.type,
    ...(c.protocol === 'tcp' ? { tcptype: c.tcpType ?? 'passive' } : {}),
  }));
  const media = sections.map((section) =>
    section.port === 0
      ? section
      : ({
          ...section,
          iceUfrag: transport.iceParameters.usernameFragment,
          icePwd: transport.iceParameters.password,
          fingerprint: { type: fingerprint.algorithm, hash: fingerprint.value },
          setup,
          candidates,
          endOfCandidates: 'end-of-candidates',
        } as MediaDescription),
  );
  const accepted = media.filter((m) => m.port !== 0).map((m) => String(m.mid));
  const description = {
    version: 0,
    origin: { username: 'lectern', sessionId: sessionVersion, sessionVersion: 1, netType: 'IN', ipVer: 4, address: '127.0.0.1' },
    name: '-',
    timing: { start: 0, stop: 0 },
    icelite: 'ice-lite',
    groups: [{ type: 'BUNDLE', mids: accepted.join(' ') }],
    msidSemantic: { semantic: 'WMS', token: '*' },
    media,
  } as SessionDescription;
  return sdpTransform.write(description);
}
