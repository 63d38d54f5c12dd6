// The SDP side of WHEP playback: a viewer's receive-only offer, parsed with sdp-transform, read against what the
// class's routers speak. mediasoup consumers send the payload types and header-extension ids of their Router,
// while the answer to a client's offer must use the offer's; so the session gets a Router of its own whose codecs
// carry the offer's payload types (pipe producers remap to them), and the answer lists only what that Router's
// consumers will send as it is: the offered codecs the room speaks, RTX only where mediasoup's RTX payload type
// happens to be the one offered for it (NACK retransmits on the media stream otherwise), and only the header
// extensions whose offered id is mediasoup's. No a=ssrc is given: when the teacher's source changes, a new
// consumer (a new SSRC) takes the section over and the browser follows it as an unsignalled stream.
import { isSameProfile } from 'h264-profile-level-id';
import { ortc, type types } from 'mediasoup';
import type { MediaDescription } from 'sdp-transform';
import type { MediaKind } from '../contracts/sfu.ts';
import { ROUTER_MEDIA_CODECS } from './media-codecs.ts';
import { badOffer, fmtpOf, mediaSection, readOffer, rejectedSection, SdpRefusal, writeAnswer, type AnswerTransport } from './webrtc-sdp.ts';

/** What one accepted section of the offer carries. */
export interface WhepSection {
  mid: string;
  kind: MediaKind;
}

export interface WhepOffer {
  /** The accepted sections: at most one audio (the teacher's voice) and one video (the main picture). */
  sections: WhepSection[];
  remoteDtls: types.DtlsParameters;
  /** The session Router's codecs: the room's codecs the offer takes, at the offer's payload types. */
  mediaCodecs: types.RouterRtpCodecCapability[];
  /** The viewer as mediasoup reads a device: the answered codecs (offer PTs) and header extensions. */
  rtpCapabilities: types.RtpCapabilities;
  /** The answer's sections in the offer's order, without the transport part (added by `whepAnswer`). */
  answerSections: MediaDescription[];
}

const NOT_MEDIA = /^(rtx|red|ulpfec|flexfec-03|cn|telephone-event)$/i;

interface OfferedCodec {
  payloadType: number;
  routerCodec: types.RouterRtpCodecCapability;
  parameters: Record<string, unknown>;
  rtcpFeedback: types.RtcpFeedback[];
  /** The PT the offer gives this codec's RTX, if any. */
  rtxPayloadType: number | undefined;
}

/** The offered codecs (in the offer's order of preference) that match a codec of the room, one per room codec. */
function offeredCodecs(kind: MediaKind, media: MediaDescription): OfferedCodec[] {
  const order = String(media.payloads ?? '')
    .split(' ')
    .map(Number)
    .filter((n) => Number.isInteger(n));
  const taken = new Set<types.RouterRtpCodecCapability>();
  const found: OfferedCodec[] = [];
  for (const pt of order) {
    const rtp = media.rtp.find((r) => r.payload === pt);
    if (!rtp || NOT_MEDIA.test(rtp.codec) || pt < 0 || pt > 127) continue;
    const parameters = fmtpOf(media, pt);
    const routerCodec = ROUTER_MEDIA_CODECS.find((c) => {
      if (taken.has(c) || c.kind !== kind || c.mimeType.toLowerCase() !== `${kind}/${rtp.codec}`.toLowerCase()) return false;
      if (c.clockRate !== rtp.rate) return false;
      if (kind === 'audio' && (c.channels ?? 1) !== Number(rtp.encoding ?? 1)) return false;
      if (c.mimeType.toLowerCase() === 'video/h264') {
        if (Number(parameters['packetization-mode'] ?? 0) !== Number(c.parameters?.['packetization-mode'] ?? 0)) return false;
        return isSameProfile(parameters, c.parameters);
      }
      return true;
    });
    if (!routerCodec) continue;
    taken.add(routerCodec);
    const rtcpFeedback = (media.rtcpFb ?? [])
      .filter((fb) => Number(fb.payload) === pt || fb.payload === '*')
      .map((fb) => ({ type: fb.type, parameter: fb.subtype ?? '' }));
    const rtx = media.rtp.find((r) => r.codec.toLowerCase() === 'rtx' && Number(fmtpOf(media, r.payload)['apt']) === pt);
    found.push({ payloadType: pt, routerCodec, parameters, rtcpFeedback, rtxPayloadType: rtx?.payload });
  }
  return found;
}

/**
 * The session Router's codecs, greedily: mediasoup gives each video codec an RTX payload type of its own choice,
 * which may be one the offer uses for a later codec; such a codec is left out rather than the Router refused.
 */
function sessionCodecs(candidates: OfferedCodec[]): { kept: OfferedCodec[]; caps: types.RtpCapabilities } {
  const kept: OfferedCodec[] = [];
  let caps = ortc.generateRouterRtpCapabilities([]);
  for (const candidate of candidates) {
    const trial = [...kept, candidate].map((c) => ({ ...c.routerCodec, preferredPayloadType: c.payloadType }));
    try {
      caps = ortc.generateRouterRtpCapabilities(trial);
      kept.push(candidate);
    } catch {
      // Its payload type is one mediasoup took for an earlier codec's RTX.
    }
  }
  return { kept, caps };
}

/**
 * Reads a viewer's offer. The first receiving audio and video sections are accepted; further ones, and sections
 * that do not receive, are rejected in the answer (port 0). A section with no codec the room speaks is refused
 * (415) with what it offered, as is an offer with nothing to receive.
 */
export function parseWhepOffer(text: string): WhepOffer {
  const { sections, remoteDtls } = readOffer(text);
  const accepted = new Map<string, { section: WhepSection; media: MediaDescription; codecs: OfferedCodec[] }>();
  const kinds = new Set<MediaKind>();
  for (const { media, mid, kind } of sections) {
    const direction = media.direction ?? 'sendrecv';
    if (!kind || kinds.has(kind) || (direction !== 'recvonly' && direction !== 'sendrecv')) continue;
    const codecs = offeredCodecs(kind, media);
    if (codecs.length === 0) {
      const names = [...new Set(media.rtp.map((r) => r.codec).filter((c) => !NOT_MEDIA.test(c)))].join(', ') || 'none';
      const want = kind === 'video' ? 'VP8 or H.264 (packetization-mode=1, constrained baseline or main profile)' : 'Opus';
      throw new SdpRefusal(415, 'unsupported_codec', `The ${kind} section (mid ${mid}) offers ${names}; Lectern sends ${want}`);
    }
    kinds.add(kind);
    accepted.set(mid, { section: { mid, kind }, media, codecs });
  }
  if (accepted.size === 0) throw badOffer('The offer receives no audio or video (WHEP offers are recvonly)');

  const { kept, caps } = sessionCodecs([...accepted.values()].flatMap((a) => a.codecs));
  const mediasoupExtensions = caps.headerExtensions ?? [];
  const rtpCapabilities: types.RtpCapabilities = { codecs: [], headerExtensions: [] };
  const answerSections: MediaDescription[] = [];
  for (const { media, mid } of sections) {
    const plan = accepted.get(mid);
    if (!plan) {
      answerSections.push(rejectedSection(media, mid));
      continue;
    }
    const { kind } = plan.section;
    const extensions = (media.ext ?? []).filter((e) =>
      mediasoupExtensions.some(
        (h) =>
          h.kind === kind && h.uri === e.uri && h.preferredId === e.value && (h.direction === 'sendrecv' || h.direction === 'sendonly'),
      ),
    );
    const uris = new Set(extensions.map((e) => e.uri));
    // Congestion feedback the consumers can act on only with its header extension.
    const usable = (fb: types.RtcpFeedback): boolean =>
      (fb.type !== 'transport-cc' || uris.has('http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01')) &&
      (fb.type !== 'goog-remb' || uris.has('http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time'));
    const codecs: types.RtpCodecParameters[] = [];
    for (const offered of plan.codecs.filter((c) => kept.includes(c))) {
      const capCodec = caps.codecs!.find((c) => c.preferredPayloadType === offered.payloadType)!;
      const rtcpFeedback = offered.rtcpFeedback.filter(
        (fb) => usable(fb) && (capCodec.rtcpFeedback ?? []).some((k) => k.type === fb.type && (k.parameter ?? '') === fb.parameter),
      );
      const media: types.RtpCodecParameters = {
        mimeType: capCodec.mimeType,
        payloadType: offered.payloadType,
        clockRate: capCodec.clockRate,
        ...(kind === 'audio' ? { channels: capCodec.channels ?? 1 } : {}),
        parameters: offered.parameters,
        rtcpFeedback,
      };
      codecs.push(media);
      rtpCapabilities.codecs!.push({ ...media, kind, preferredPayloadType: offered.payloadType });
      const rtx = caps.codecs!.find((c) => c.mimeType.toLowerCase().endsWith('/rtx') && c.parameters?.['apt'] === offered.payloadType);
      if (rtx && rtx.preferredPayloadType === offered.rtxPayloadType) {
        const rtxCodec = {
          mimeType: rtx.mimeType,
          payloadType: rtx.preferredPayloadType,
          clockRate: rtx.clockRate,
          parameters: { apt: offered.payloadType },
          rtcpFeedback: [],
        };
        codecs.push(rtxCodec);
        rtpCapabilities.codecs!.push({ ...rtxCodec, kind, preferredPayloadType: rtx.preferredPayloadType });
      }
    }
    if (codecs.length === 0)
      throw new SdpRefusal(415, 'unsupported_codec', `mid ${mid}: the offered payload types clash; offer fewer codecs`);
    for (const e of extensions)
      rtpCapabilities.headerExtensions!.push({
        kind,
        uri: e.uri as types.RtpHeaderExtensionUri,
        preferredId: e.value,
        direction: 'sendrecv',
      });
    answerSections.push({
      ...mediaSection(media, mid, 'sendonly', codecs, extensions, []),
      msid: [{ id: 'lectern', appdata: `${kind}-${mid}` }],
    });
  }
  return {
    sections: [...accepted.values()].map((a) => a.section),
    remoteDtls,
    mediaCodecs: kept.map((c) => ({ ...c.routerCodec, preferredPayloadType: c.payloadType })),
    rtpCapabilities,
    answerSections,
  };
}

export function whepAnswer(offer: WhepOffer, transport: AnswerTransport): string {
  return writeAnswer(offer.answerSections, offer.remoteDtls, transport);
}
