// The SFU signalling messages, shared by the server (validation) and the app (types).
// Ids are always ones the server handed out; capabilities and RTP parameters are bounded here and checked in
// depth by mediasoup itself.
import { z } from 'zod';

const Id = z.string().min(1).max(64, { message: 'id is too long' });

/** What a producer carries. The camera is simulcast; the screen share is its own producer (plus its audio). */
export const MediaSourceName = z.enum(['camera', 'mic', 'screen', 'screen-audio']);
export type MediaSourceName = z.infer<typeof MediaSourceName>;

export const MediaKind = z.enum(['audio', 'video']);
export type MediaKind = z.infer<typeof MediaKind>;

/** The kind each source must have: a 'camera' producer carrying audio is refused. */
export const SOURCE_KIND: Record<MediaSourceName, MediaKind> = {
  camera: 'video',
  mic: 'audio',
  screen: 'video',
  'screen-audio': 'audio',
};

const RtpCodecCapability = z.looseObject({
  kind: MediaKind,
  mimeType: z.string().max(64),
  clockRate: z.number().int().positive(),
  channels: z.number().int().min(1).max(8).optional(),
  preferredPayloadType: z.number().int().min(0).max(127).optional(),
  parameters: z.record(z.string().max(64), z.unknown()).optional(),
  rtcpFeedback: z
    .array(z.looseObject({ type: z.string().max(32), parameter: z.string().max(32).optional() }))
    .max(16)
    .optional(),
});

const HeaderExtension = z.looseObject({ uri: z.string().max(256) });

/** A device's receive capabilities (mediasoup-client Device.rtpCapabilities). */
export const RtpCapabilities = z.looseObject({
  codecs: z.array(RtpCodecCapability).max(64).optional(),
  headerExtensions: z.array(HeaderExtension).max(32).optional(),
});

/** The RTP parameters of a new producer (mediasoup-client Transport 'produce' event). */
export const RtpParameters = z.looseObject({
  mid: z.string().max(32).optional(),
  codecs: z
    .array(
      z.looseObject({
        mimeType: z.string().max(64),
        payloadType: z.number().int().min(0).max(127),
        clockRate: z.number().int().positive(),
      }),
    )
    .min(1)
    .max(16),
  headerExtensions: z.array(HeaderExtension).max(32).optional(),
  encodings: z.array(z.looseObject({})).max(4).optional(),
  rtcp: z.looseObject({}).optional(),
});

const DtlsParameters = z.looseObject({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z
    .array(z.object({ algorithm: z.string().max(16), value: z.string().max(256) }))
    .min(1)
    .max(8),
});

export const GetRouterRtpCapabilities = z.object({}).optional();

export const SfuJoin = z.object({ rtpCapabilities: RtpCapabilities });
export type SfuJoin = z.infer<typeof SfuJoin>;

export const CreateTransport = z.object({ direction: z.enum(['send', 'recv']) });
export const ConnectTransport = z.object({ transportId: Id, dtlsParameters: DtlsParameters });
export const RestartIce = z.object({ transportId: Id });
export const Produce = z.object({
  transportId: Id,
  kind: MediaKind,
  rtpParameters: RtpParameters,
  source: MediaSourceName,
});
export const ProducerRef = z.object({ producerId: Id });
export const Consume = z.object({ producerId: Id });
export const ConsumerRef = z.object({ consumerId: Id });
export const SetPreferredLayers = z.object({
  consumerId: Id,
  spatialLayer: z.number().int().min(0).max(3),
  temporalLayer: z.number().int().min(0).max(3).optional(),
});
/**
 * The student watches the broadcast (HLS) instead: by choice, because their WebRTC connection failed, or
 * because the real-time seats are taken. The server closes their receive side so no WebRTC media flows.
 */
export const HlsCause = z.enum(['choice', 'ice', 'cap']);
export type HlsCause = z.infer<typeof HlsCause>;
export const UseHls = z.object({ cause: HlsCause });

/** A STUN/TURN server for the browser's RTCPeerConnection (TURN with the user's own time-limited credential). */
export interface IceServerInfo {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** One producer a client can consume. */
export interface SourceInfo {
  producerId: string;
  source: MediaSourceName;
  kind: MediaKind;
  userId: string;
  displayName: string;
  paused: boolean;
}

export type RouterInfo =
  | {
      mode: 'webrtc';
      routerRtpCapabilities: unknown;
      iceServers: IceServerInfo[];
      /** Simulcast layers a publisher sends for the camera (1 = one full-size stream). */
      cameraLayers: number;
    }
  | { mode: 'hls'; reason: string };

export type SfuJoined = { mode: 'webrtc'; sources: SourceInfo[]; onStage: boolean } | { mode: 'hls'; reason: string };

export interface TransportInfo {
  id: string;
  iceParameters: unknown;
  iceCandidates: unknown[];
  dtlsParameters: unknown;
}

export interface ConsumerInfo {
  consumerId: string;
  producerId: string;
  kind: MediaKind;
  source: MediaSourceName;
  userId: string;
  rtpParameters: unknown;
  producerPaused: boolean;
}

/**
 * Pushed as `sfu:teacherMedia` to the class (and to each member as they join): which of the teacher's published
 * sources the media server actually receives RTP for. The studio says "live" only when something flows; the
 * class page tells students when the teacher is live but their media does not get through.
 */
export interface TeacherMediaPush {
  classId: string;
  /** Sources the teacher publishes (open producers on the media server). */
  published: MediaSourceName[];
  /** Of those, the ones whose packets arrived within the last few seconds. */
  flowing: MediaSourceName[];
}

// ---- The pre-join connectivity check: probe transports (a data channel only; server/sfu/connectivity-probe.ts) ----
export const ProbeRef = z.object({ probeId: Id });
export const ProbeConnect = ProbeRef.extend({ dtlsParameters: DtlsParameters });

export interface ProbeInfo {
  probeId: string;
  iceParameters: unknown;
  iceCandidates: unknown[];
  dtlsParameters: unknown;
  sctpParameters: unknown;
  iceServers: IceServerInfo[];
}

export interface ProbeStatus {
  iceState: string;
  dtlsState: string;
  /** How the probe's traffic reaches the server, once connected. */
  protocol: 'udp' | 'tcp' | undefined;
}
