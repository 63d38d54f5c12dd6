// What the nodes of a cluster tell each other, over the Socket.io Redis adapter (io.serverSideEmit): every node
// hears every message and acts on those about it. Typed here for both sides and checked with zod on arrival
// (a node of another version must not crash this one). Requests that want an answer carry the node they are
// for (`to`); every other node answers null.
import { z } from 'zod';
import { ClassStatus, type ClassStatusPush } from '../contracts/live-class.ts';
import { MediaSourceName } from '../contracts/sfu.ts';

const id = z.string().min(1).max(100);

/** A published source as an edge needs it to make its pipe producer (same id as the origin's producer). */
export const RemoteSource = z.object({
  producerId: id,
  source: MediaSourceName,
  kind: z.enum(['audio', 'video']),
  userId: id,
  displayName: z.string().max(200),
  paused: z.boolean(),
});
export type RemoteSource = z.infer<typeof RemoteSource>;

/** An edge asks the origin for a pipe: the edge's PipeTransport listens at ip:port. */
export const PipeRequest = z.object({
  to: id,
  from: id,
  classId: id,
  ip: z.union([z.ipv4(), z.ipv6()]),
  port: z.number().int().min(1).max(65535),
});
export type PipeRequest = z.infer<typeof PipeRequest>;
export interface PipeReply {
  transportId: string;
  ip: string;
  port: number;
  sources: RemoteSource[];
}

/** An edge asks the origin to send one source down its pipe. */
export const PipeConsumeRequest = z.object({ to: id, classId: id, transportId: id, producerId: id });
export type PipeConsumeRequest = z.infer<typeof PipeConsumeRequest>;
export interface PipeConsumeReply {
  kind: 'audio' | 'video';
  /** The pipe consumer's RTP parameters: the edge's pipe producer takes them as they are. */
  rtpParameters: unknown;
  paused: boolean;
}

/** An edge hands the origin a source published on the edge (a student on stage there), sent up its pipe. */
export const AdoptRequest = z.object({
  to: id,
  from: id,
  classId: id,
  transportId: id,
  source: RemoteSource,
  rtpParameters: z.record(z.string(), z.unknown()),
});
export type AdoptRequest = z.infer<typeof AdoptRequest>;

export const PipeClose = z.object({ to: id, classId: id, transportId: id });
export type PipeClose = z.infer<typeof PipeClose>;

/**
 * The origin's sources changed: edges fed from `from` follow. An edge tells the origin the same way about a
 * source it handed up (removed, paused, resumed).
 */
export const SourceChange = z.object({
  from: id,
  classId: id,
  change: z.enum(['add', 'remove', 'pause', 'resume']),
  source: RemoteSource,
});
export type SourceChange = z.infer<typeof SourceChange>;

/** `nodeId` now originates the class's media (its teacher publishes there): every other node drops its room. */
export const OriginMoved = z.object({ classId: id, nodeId: id });
export type OriginMoved = z.infer<typeof OriginMoved>;

export const SharedStatus = z.object({
  from: id,
  push: z.object({
    classId: id,
    status: ClassStatus,
    teacher: z.enum(['present', 'away', 'interrupted']),
    startedAt: z.string().nullable(),
    endedAt: z.string().nullable(),
  }),
});
export type SharedStatus = { from: string; push: ClassStatusPush };

export const SharedStage = z.object({
  from: id,
  push: z.object({ classId: id, userIds: z.array(id).max(1000), invited: z.array(id).max(1000) }),
});
export type SharedStage = z.infer<typeof SharedStage>;

type Answer<T> = (reply: T | null) => void;

/** Socket.io's server-side event map (the third type parameter of Server). */
export interface InterNodeEvents {
  'cluster:status': (message: SharedStatus) => void;
  'cluster:origin': (message: OriginMoved) => void;
  'cluster:source': (message: SourceChange) => void;
  'cluster:pipe': (request: PipeRequest, answer: Answer<PipeReply | { error: string }>) => void;
  'cluster:stage': (message: SharedStage) => void;
  'cluster:adopt': (request: AdoptRequest, answer: Answer<{ adopted: true } | { error: string }>) => void;
  'cluster:consume': (request: PipeConsumeRequest, answer: Answer<PipeConsumeReply | { error: string }>) => void;
  'cluster:unpipe': (message: PipeClose) => void;
}
