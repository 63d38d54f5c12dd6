// The SDP side of WHIP (RFC 9725): an encoder's offer, parsed with sdp-transform, becomes the RTP parameters
// of mediasoup producers (one per audio/video section), and the answer tells the encoder what the room's
// Router takes: one codec per section (plus its RTX), the header extensions and RTCP feedback both sides know,
// simulcast when offered, and the transport's ICE-lite credentials, DTLS fingerprint and every candidate (no
// trickle). Anything the room cannot take is refused with the reason: 400 for a broken offer, 415 for codecs.
import type { types } from 'mediasoup';
import { isSameProfile } from 'h264-profile-level-id';
import sdpTransform, { type MediaAttributes, type MediaDescription } from 'sdp-transform';
import type { MediaKind, MediaSourceName } from '../contracts/sfu.ts';
import { badOffer, fmtpOf, mediaSection, readOffer, rejectedSection, SdpRefusal, writeAnswer, type AnswerTransport } from './webrtc-sdp.ts';

export { MAX_OFFER_BYTES, SdpRefusal } from './webrtc-sdp.ts';

const bad = badOffer;

/** One sendable track of the offer, as the room publishes it. */
export interface OfferedTrack {
  mid: string;
  kind: MediaKind;
  source: MediaSourceName;
  rtpParameters: types.RtpParameters;
}

export interface ParsedOffer {
  tracks: OfferedTrack[];
  /** The encoder's DTLS side: its fingerprint, and the role it takes (ours is the other one). */
  remoteDtls: types.DtlsParameters;
  /** The answer's sections, in the offer's order, without the transport part (added by `whipAnswer`). */
  answerSections: MediaDescription[];
}

interface RouterCodecChoice {
  codec: MediaAttributes['rtp'][number];
  parameters: Record<string, unknown>;
  rtx: MediaAttributes['rtp'][number] | undefined;
  rtcpFeedback: types.RtcpFeedback[];
}

function mimeOf(kind: MediaKind, codec: string): string {
  return `${kind}/${codec}`.toLowerCase();
}

function matchesRouterCodec(
  kind: MediaKind,
  rtp: MediaAttributes['rtp'][number],
  params: Record<string, unknown>,
  cap: types.RtpCodecCapability,
) {
  if (cap.mimeType.toLowerCase() !== mimeOf(kind, rtp.codec) || cap.clockRate !== rtp.rate) return false;
  if (kind === 'audio' && (cap.channels ?? 1) !== Number(rtp.encoding ?? 1)) return false;
  if (cap.mimeType.toLowerCase() === 'video/h264') {
    // mediasoup takes H.264 in packetization mode 1 only, and of a profile the Router lists.
    if (Number(params['packetization-mode'] ?? 0) !== Number(cap.parameters?.['packetization-mode'] ?? 0)) return false;
    if (!isSameProfile(params, cap.parameters)) return false;
  }
  return true;
}

/** The first offered codec the Router takes (the offer lists them by preference), with its RTX. */
function chooseCodec(kind: MediaKind, media: MediaDescription, caps: types.RtpCapabilities): RouterCodecChoice | undefined {
  const order = String(media.payloads ?? '')
    .split(' ')
    .map(Number)
    .filter((n) => Number.isInteger(n));
  for (const pt of order) {
    const rtp = media.rtp.find((r) => r.payload === pt);
    if (!rtp || /^(rtx|red|ulpfec|flexfec-03|cn|telephone-event)$/i.test(rtp.codec)) continue;
    const parameters = fmtpOf(media, pt);
    const cap = (caps.codecs ?? []).find((c) => c.kind === kind && matchesRouterCodec(kind, rtp, parameters, c));
    if (!cap) continue;
    const rtx = media.rtp.find((r) => r.codec.toLowerCase() === 'rtx' && Number(fmtpOf(media, r.payload)['apt']) === pt);
    const known = cap.rtcpFeedback ?? [];
    const rtcpFeedback = (media.rtcpFb ?? [])
      .filter((fb) => Number(fb.payload) === pt || fb.payload === '*')
      .map((fb) => ({ type: fb.type, parameter: fb.subtype ?? '' }))
      .filter((fb) => known.some((k) => k.type === fb.type && (k.parameter ?? '') === fb.parameter));
    return { codec: rtp, parameters, rtx: kind === 'video' ? rtx : undefined, rtcpFeedback };
  }
  return undefined;
}

function offeredCodecNames(media: MediaDescription): string {
  const names = new Set(media.rtp.map((r) => r.codec).filter((c) => !/^(rtx|red|ulpfec|flexfec-03|cn|telephone-event)$/i.test(c)));
  return names.size ? [...names].join(', ') : 'none';
}

/** Encodings: simulcast by RID, else the SSRCs the offer names (with their RTX by FID), else one by MID. */
function encodingsOf(
  media: MediaDescription,
  hasMidExtension: boolean,
  withRtx: boolean,
): { encodings: types.RtpEncodingParameters[]; rids: string[] } {
  const sendRids = (media.rids ?? []).filter((r) => r.direction === 'send').map((r) => String(r.id));
  if (sendRids.length > 0) {
    let order = sendRids;
    if (media.simulcast?.dir1 === 'send') {
      // "a;b;c" are the layers; "x,y" offers alternatives for one layer (the first is taken); "~" marks paused.
      const listed = sdpTransform
        .parseSimulcastStreamList(media.simulcast.list1)
        .map((alternatives) => String(alternatives[0]?.scid ?? ''))
        .filter((rid) => sendRids.includes(rid));
      if (listed.length > 0) order = listed;
    }
    if (order.length > 4) throw bad(`mid ${media.mid}: at most 4 simulcast layers, the offer has ${order.length}`);
    return { encodings: order.map((rid) => ({ rid })), rids: order };
  }
  const ssrcs = [...new Set((media.ssrcs ?? []).map((s) => Number(s.id)))];
  if (ssrcs.length > 0) {
    const rtxOf = new Map<number, number>();
    let simulcastOrder: number[] | undefined;
    for (const group of media.ssrcGroups ?? []) {
      const ids = group.ssrcs.split(' ').map(Number);
      if (group.semantics === 'FID' && ids.length === 2) rtxOf.set(ids[0]!, ids[1]!);
      if (group.semantics === 'SIM') simulcastOrder = ids;
    }
    const repairs = new Set(rtxOf.values());
    const primaries = simulcastOrder ?? ssrcs.filter((s) => !repairs.has(s));
    if (primaries.length === 0 || primaries.length > 4) throw bad(`mid ${media.mid}: cannot tell the media SSRCs apart`);
    return {
      encodings: primaries.map((ssrc) => {
        const rtx = rtxOf.get(ssrc);
        return withRtx && rtx !== undefined ? { ssrc, rtx: { ssrc: rtx } } : { ssrc };
      }),
      rids: [],
    };
  }
  if (!hasMidExtension) throw bad(`mid ${media.mid}: the offer names no SSRC, no RID and no MID header extension`);
  return { encodings: [{}], rids: [] };
}

function cnameOf(media: MediaDescription): string | undefined {
  const value = media.ssrcs?.find((s) => s.attribute === 'cname')?.value;
  return value === undefined ? undefined : String(value);
}

/**
 * Reads an encoder's offer against the Router's capabilities. Sections the room cannot use at all (data
 * channels, a third video) are rejected in the answer; audio or video without a codec the Router takes is
 * refused (415), since publishing half of what the encoder sends would surprise the teacher.
 */
export function parseWhipOffer(text: string, caps: types.RtpCapabilities): ParsedOffer {
  const { sections, remoteDtls } = readOffer(text);
  const tracks: OfferedTrack[] = [];
  const answerSections: MediaDescription[] = [];
  const counts = { audio: 0, video: 0 };
  for (const { media, mid, kind } of sections) {
    const direction = media.direction ?? 'sendrecv';
    const usable = kind !== undefined && (direction === 'sendonly' || direction === 'sendrecv') && counts[kind] < 2;
    if (!usable) {
      answerSections.push(rejectedSection(media, mid));
      continue;
    }
    const choice = chooseCodec(kind, media, caps);
    if (!choice) {
      const want = kind === 'video' ? 'H.264 (packetization-mode=1, baseline or main profile) or VP8' : 'Opus';
      throw new SdpRefusal(
        415,
        'unsupported_codec',
        `The ${kind} section (mid ${mid}) offers ${offeredCodecNames(media)}; Lectern takes ${want}`,
      );
    }
    const extensions = (media.ext ?? []).filter(
      (e) => e.value >= 1 && e.value <= 255 && (caps.headerExtensions ?? []).some((h) => h.kind === kind && h.uri === e.uri),
    );
    const hasMid = extensions.some((e) => e.uri === 'urn:ietf:params:rtp-hdrext:sdes:mid');
    const { encodings, rids } = encodingsOf(media, hasMid, choice.rtx !== undefined);
    const mimeType = `${kind}/${choice.codec.codec}`;
    const codecs: types.RtpCodecParameters[] = [
      {
        mimeType,
        payloadType: choice.codec.payload,
        clockRate: choice.codec.rate ?? 90000,
        ...(kind === 'audio' ? { channels: Number(choice.codec.encoding ?? 1) } : {}),
        parameters: choice.parameters,
        rtcpFeedback: choice.rtcpFeedback,
      },
    ];
    if (choice.rtx) {
      codecs.push({
        mimeType: `${kind}/rtx`,
        payloadType: choice.rtx.payload,
        clockRate: choice.rtx.rate ?? 90000,
        parameters: { apt: choice.codec.payload },
        rtcpFeedback: [],
      });
    }
    const cname = cnameOf(media);
    const source: MediaSourceName =
      kind === 'video' ? (counts.video === 0 ? 'camera' : 'screen') : counts.audio === 0 ? 'mic' : 'screen-audio';
    counts[kind]++;
    tracks.push({
      mid,
      kind,
      source,
      rtpParameters: {
        mid,
        codecs,
        headerExtensions: extensions.map((e) => ({ uri: e.uri as types.RtpHeaderExtensionUri, id: e.value })),
        encodings,
        rtcp: { ...(cname ? { cname } : {}), reducedSize: Boolean(media.rtcpRsize) },
      },
    });
    answerSections.push(mediaSection(media, mid, 'recvonly', codecs, extensions, rids));
  }
  if (tracks.length === 0) throw new SdpRefusal(415, 'unsupported_codec', 'The offer sends no audio or video Lectern can take');
  return { tracks, remoteDtls, answerSections };
}

export function whipAnswer(offer: ParsedOffer, transport: AnswerTransport): string {
  return writeAnswer(offer.answerSections, offer.remoteDtls, transport);
}
