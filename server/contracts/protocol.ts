// The Socket.io protocol: every event either side sends, with its payload and, for a request, what its ack
// carries. The server's Server<...> and the app's Socket<...> are typed with these maps, so a renamed event or a
// changed payload fails type-checking on both sides. A request's payload type is its schema's input: the
// server validates every payload with that same schema (server/realtime/requests.ts).
import type { z } from 'zod';
import type {
  ChatDelete,
  ChatHistory,
  ChatMessage,
  ChatPage,
  ChatSend,
  Empty,
  HandLower,
  InteractionSnapshot,
  MuteSet,
  Poll,
  PollCreate,
  PollRef,
  PollResults,
  PollShowResults,
  PollVote,
  Question,
  QuestionAsk,
  QuestionPin,
  QuestionRef,
  RaisedHand,
  ReactionSend,
  ReactionShown,
  StudentRef,
} from './interaction.ts';
import type { ChapterMark, MarkedChapter } from './timeline.ts';
import type { QualityPush } from './connection-quality.ts';
import type { ClassStatusPush, PresencePush, StageAnswer, StageRef, StageUpdatePush } from './live-class.ts';
import type { Ack, ClassJoin, ClassJoined, NoPayload } from './realtime.ts';
import type {
  ConnectTransport,
  Consume,
  ConsumerInfo,
  ConsumerRef,
  CreateTransport,
  GetRouterRtpCapabilities,
  ProbeConnect,
  ProbeInfo,
  ProbeRef,
  ProbeStatus,
  Produce,
  ProducerRef,
  RestartIce,
  RouterInfo,
  SetPreferredLayers,
  SfuJoin,
  SfuJoined,
  SourceInfo,
  TeacherMediaPush,
  TransportInfo,
  UseHls,
} from './sfu.ts';

/** A request: the schema its payload must pass and the data its ack carries. */
interface Request<Schema extends z.ZodType, Result> {
  schema: Schema;
  result: Result;
}

export interface Requests {
  // Membership (server/realtime/class-membership.ts)
  'class:join': Request<typeof ClassJoin, ClassJoined>;
  'class:leave': Request<typeof NoPayload, { left: true }>;
  // Go live and end (server/realtime/go-live-feature.ts)
  'class:goLive': Request<typeof NoPayload, ClassStatusPush>;
  'class:end': Request<typeof NoPayload, ClassStatusPush>;
  // Stage (server/realtime/stage-feature.ts)
  'stage:invite': Request<typeof StageRef, { invited: true }>;
  'stage:remove': Request<typeof StageRef, { removed: true }>;
  'stage:answer': Request<typeof StageAnswer, { onStage: boolean }>;
  'stage:leave': Request<typeof NoPayload, { onStage: false }>;
  // Media signalling (server/realtime/media-signalling.ts)
  'sfu:getRouterRtpCapabilities': Request<typeof GetRouterRtpCapabilities, RouterInfo>;
  'sfu:join': Request<typeof SfuJoin, SfuJoined>;
  'sfu:useHls': Request<typeof UseHls, { mode: 'hls' }>;
  'sfu:createTransport': Request<typeof CreateTransport, TransportInfo>;
  'sfu:connectTransport': Request<typeof ConnectTransport, { connected: true }>;
  'sfu:restartIce': Request<typeof RestartIce, { iceParameters: unknown }>;
  'sfu:produce': Request<typeof Produce, { producerId: string }>;
  'sfu:closeProducer': Request<typeof ProducerRef, { closed: true }>;
  'sfu:pauseProducer': Request<typeof ProducerRef, { paused: boolean }>;
  'sfu:resumeProducer': Request<typeof ProducerRef, { paused: boolean }>;
  'sfu:consume': Request<typeof Consume, ConsumerInfo>;
  'sfu:pauseConsumer': Request<typeof ConsumerRef, { paused: boolean }>;
  'sfu:resumeConsumer': Request<typeof ConsumerRef, { paused: boolean }>;
  'sfu:setPreferredLayers': Request<typeof SetPreferredLayers, { applied: boolean }>;
  'sfu:requestKeyFrame': Request<typeof ConsumerRef, { requested: true }>;
  // Pre-join connectivity check (server/sfu/connectivity-probe.ts)
  'net:probe': Request<typeof NoPayload, ProbeInfo>;
  'net:probeConnect': Request<typeof ProbeConnect, { connected: true }>;
  'net:probeStatus': Request<typeof ProbeRef, ProbeStatus>;
  'net:probeClose': Request<typeof ProbeRef, { closed: true }>;
  // Interaction (server/realtime/*-feature.ts)
  'interaction:sync': Request<typeof Empty, InteractionSnapshot>;
  'chat:send': Request<typeof ChatSend, ChatMessage>;
  'chat:history': Request<typeof ChatHistory, ChatPage>;
  'chat:delete': Request<typeof ChatDelete, { messageId: string; deleted: boolean }>;
  'question:ask': Request<typeof QuestionAsk, Question>;
  'question:vote': Request<typeof QuestionRef, Question>;
  'question:unvote': Request<typeof QuestionRef, Question>;
  'question:answer': Request<typeof QuestionRef, Question>;
  'question:reopen': Request<typeof QuestionRef, Question>;
  'question:pin': Request<typeof QuestionPin, Question>;
  'question:dismiss': Request<typeof QuestionRef, Question>;
  'poll:create': Request<typeof PollCreate, Poll>;
  'poll:vote': Request<typeof PollVote, { pollId: string; optionIds: string[]; changed: boolean }>;
  'poll:close': Request<typeof PollRef, Poll>;
  'poll:showResults': Request<typeof PollShowResults, Poll>;
  // Chapters (server/realtime/chapters-feature.ts)
  'chapter:mark': Request<typeof ChapterMark, MarkedChapter>;
  'hand:raise': Request<typeof Empty, { hands: RaisedHand[] }>;
  'hand:lower': Request<typeof HandLower, { lowered: boolean; hands: RaisedHand[] }>;
  'hand:lowerAll': Request<typeof Empty, { lowered: number; hands: RaisedHand[] }>;
  'reaction:send': Request<typeof ReactionSend, ReactionShown>;
  'moderation:mute': Request<typeof MuteSet, { userId: string; muted: boolean; changed: boolean }>;
  'moderation:remove': Request<typeof StudentRef, { userId: string; classId: string; disconnected: number }>;
}

export type RequestName = keyof Requests;
export type RequestSchema<E extends RequestName> = Requests[E]['schema'];
export type RequestPayload<E extends RequestName> = z.input<RequestSchema<E>>;
export type RequestResult<E extends RequestName> = Requests[E]['result'];

export type ClientToServerEvents = {
  [E in RequestName]: (payload: RequestPayload<E>, ack: (answer: Ack<RequestResult<E>>) => void) => void;
};

/** Identifies a consumer and the producer it receives. */
interface ConsumerNotice {
  consumerId: string;
  producerId: string;
}

export interface ServerToClientEvents {
  // The class (to its room)
  'class:status': (status: ClassStatusPush) => void;
  'presence:update': (presence: PresencePush) => void;
  'stage:update': (stage: StageUpdatePush) => void;
  /** Each student's connection, to the class's staff only. */
  'quality:update': (quality: QualityPush) => void;
  // Media (to one member)
  'sfu:newProducer': (source: SourceInfo) => void;
  'sfu:producerClosed': (source: { producerId: string }) => void;
  'sfu:consumerClosed': (consumer: ConsumerNotice) => void;
  'sfu:consumerPaused': (consumer: ConsumerNotice) => void;
  'sfu:consumerResumed': (consumer: ConsumerNotice) => void;
  /** Which of the teacher's sources reach the media server (to the class, and to each member as they join). */
  'sfu:teacherMedia': (media: TeacherMediaPush) => void;
  /** The media server restarted under a live class: the client rebuilds its media. */
  'sfu:reset': (reset: { reason: string }) => void;
  // Interaction
  'chat:messages': (messages: ChatMessage[]) => void;
  'chat:deleted': (message: { messageId: string }) => void;
  'question:updated': (question: Question) => void;
  'question:removed': (question: { questionId: string }) => void;
  'poll:updated': (poll: Poll) => void;
  'poll:results': (results: PollResults) => void;
  'hands:changed': (queue: { hands: RaisedHand[] }) => void;
  'reaction:shown': (reaction: ReactionShown) => void;
  'moderation:muted': (notice: { userId: string; muted: boolean }) => void;
  'moderation:removed': (notice: { userId: string; classId: string }) => void;
}
