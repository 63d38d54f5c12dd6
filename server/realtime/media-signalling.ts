// Media signalling as a class feature: request/acknowledge events that let a member's browser build its
// mediasoup-client Device and transports, publish (the teacher, or a student on stage) and consume, or watch
// the broadcast (HLS) instead. The live class hands out its room (classes/live-class-lifecycle.ts); the
// member's peer in it owns every transport, producer and consumer it makes, and the member's cleanup closes
// the peer, so nothing outlives a vanished client.
import { ortc, type types } from 'mediasoup';
import {
  ConnectTransport,
  Consume,
  ConsumerRef,
  CreateTransport,
  GetRouterRtpCapabilities,
  Produce,
  ProducerRef,
  RestartIce,
  SetPreferredLayers,
  SfuJoin,
  UseHls,
  type ConsumerInfo,
  type RouterInfo,
  type SfuJoined,
  type SourceInfo,
  type TransportInfo,
} from '../contracts/sfu.ts';
import type { ClassroomPeer } from '../sfu/classroom-peer.ts';
import type { ClassroomRoom, MediaSource } from '../sfu/classroom-room.ts';
import type { ProducerAppData } from '../sfu/media-source.ts';
import type { LiveClassLifecycle } from '../classes/live-class-lifecycle.ts';
import type { Logger } from '../log.ts';
import type { ClassFeature, ClassMember } from './class-membership.ts';
import { DomainError } from '../domain-error.ts';
import { onRequest, type RequestHandler } from './requests.ts';
import type { RequestName, RequestSchema } from '../contracts/protocol.ts';
import type { IceServer } from '../net/turn-credentials.ts';

function sourceInfo(source: MediaSource): SourceInfo {
  const appData = source.producer.appData as ProducerAppData;
  return {
    producerId: source.producer.id,
    source: source.source,
    kind: source.kind,
    userId: source.userId,
    displayName: appData.displayName,
    paused: source.producer.paused,
  };
}

export interface MediaSignallingOptions {
  /** The live class: its room, who is on stage, how each member receives media. */
  liveClasses: Pick<LiveClassLifecycle, 'room' | 'publishingRoom' | 'status' | 'isOnStage' | 'setMode'>;
  /** STUN/TURN servers handed to a user's browser (LECTERN_ICE_SERVERS plus their own TURN credential). */
  iceServersFor: (userId: string) => IceServer[];
  /** Simulcast layers publishers send for the camera (LECTERN_CAMERA_LAYERS). */
  cameraLayers: number;
  log: Logger;
}

export function mediaSignalling(options: MediaSignallingOptions): ClassFeature {
  return (member) => attachSignalling(member, options);
}

function attachSignalling(member: ClassMember, options: MediaSignallingOptions): () => void {
  const { liveClasses, iceServersFor, cameraLayers } = options;
  const { socket, classId, role, user } = member;
  const log = options.log.child({ classId, userId: user.id });
  const offs: (() => void)[] = [];
  let peer: ClassroomPeer | undefined;
  /** The room the peer was added to (a dead worker's room closes, and its peers with it). */
  let peerRoom: ClassroomRoom | undefined;
  let detachRoom: (() => void) | undefined;
  /** Set by the member's cleanup: a request still awaiting must not create a peer nobody will close. */
  let left = false;

  const on = <E extends RequestName>(event: E, schema: RequestSchema<E>, handler: RequestHandler<E>): void => {
    offs.push(onRequest(socket, event, schema, handler, log));
  };

  const liveRoom = (): Promise<ClassroomRoom> => liveClasses.room(classId);

  /** How this member receives media (the live class records it for every node). */
  const setMode = (mode: 'webrtc' | 'hls'): Promise<void> => liveClasses.setMode(classId, socket.id, mode);

  const currentPeer = (): { peer: ClassroomPeer; room: ClassroomRoom } => {
    const room = peerRoom;
    if (!peer || peer.closed || !room || room.closed) throw new DomainError('not_joined', 'Join the media session (sfu:join) first');
    return { peer, room };
  };

  /**
   * Why a student watches over HLS: no WebRTC seat left (this machine's measured capacity, or the class's cap over every node).
   * The teacher, admins, students on stage and a student already seated never do.
   */
  const overCapacity = async (room: ClassroomRoom): Promise<string | undefined> => {
    if (role !== 'student' || liveClasses.isOnStage(classId, user.id) || (peer && !peer.closed && peer.rtpCapabilities)) return undefined;
    const seat = await room.hasSeat();
    return seat.admitted ? undefined : seat.reason;
  };

  const attachRoom = (room: ClassroomRoom, p: ClassroomPeer): void => {
    detachRoom?.();
    const onAdd = (source: MediaSource): void => {
      if (source.userId !== user.id) socket.emit('sfu:newProducer', sourceInfo(source));
    };
    const onRemove = (source: MediaSource): void => {
      if (source.userId !== user.id) socket.emit('sfu:producerClosed', { producerId: source.producer.id });
    };
    const onClose = (): void => {
      // The class ended (class:status says so) or the worker died: then the client rebuilds its media.
      void liveClasses.status(classId).then(
        (s) => s.status === 'live' && socket.emit('sfu:reset', { reason: 'The media server restarted' }),
        () => {},
      );
    };
    const onConsumerClose = (consumerId: string, producerId: string): void =>
      void socket.emit('sfu:consumerClosed', { consumerId, producerId });
    const onConsumerPause = (consumerId: string, producerId: string): void =>
      void socket.emit('sfu:consumerPaused', { consumerId, producerId });
    const onConsumerResume = (consumerId: string, producerId: string): void =>
      void socket.emit('sfu:consumerResumed', { consumerId, producerId });
    room.on('sourceadd', onAdd);
    room.on('sourceremove', onRemove);
    room.once('close', onClose);
    p.on('consumerclose', onConsumerClose);
    p.on('consumerpause', onConsumerPause);
    p.on('consumerresume', onConsumerResume);
    detachRoom = () => {
      room.off('sourceadd', onAdd);
      room.off('sourceremove', onRemove);
      room.off('close', onClose);
      p.off('consumerclose', onConsumerClose);
      p.off('consumerpause', onConsumerPause);
      p.off('consumerresume', onConsumerResume);
      detachRoom = undefined;
    };
  };

  on('sfu:getRouterRtpCapabilities', GetRouterRtpCapabilities, async (): Promise<RouterInfo> => {
    // The teacher asks before publishing: their room is the class's origin, here (never an edge of a dead origin).
    const room = role === 'teacher' ? await liveClasses.publishingRoom(classId) : await liveRoom();
    const full = await overCapacity(room);
    if (full) return { mode: 'hls', reason: full };
    return {
      mode: 'webrtc',
      routerRtpCapabilities: room.router.rtpCapabilities,
      iceServers: iceServersFor(user.id),
      cameraLayers,
    };
  });

  on('sfu:join', SfuJoin, async ({ rtpCapabilities }): Promise<SfuJoined> => {
    // The teacher publishes where they are: in a cluster this node becomes the class's origin.
    const room = role === 'teacher' ? await liveClasses.publishingRoom(classId) : await liveRoom();
    if (left) throw new DomainError('gone', 'You left the class');
    const caps = structuredClone(rtpCapabilities) as unknown as types.RtpCapabilities;
    try {
      // mediasoup's own in-depth check, before anything is created for these capabilities.
      ortc.validateAndNormalizeRtpCapabilities(caps);
    } catch (err) {
      throw new DomainError('invalid_input', `rtpCapabilities: ${(err as Error).message}`);
    }
    detachRoom?.();
    peer?.close();
    const onStage = (): boolean => liveClasses.isOnStage(classId, user.id);
    const p = room.addPeer({ id: socket.id, userId: user.id, displayName: user.displayName, role, onStage });
    p.rtpCapabilities = caps;
    peer = p;
    peerRoom = room;
    // A seat on one of the class's routers (another worker's once this one is full), or HLS, told why.
    const seat = await room.admit(p);
    if (!seat.admitted) {
      p.close();
      if (peer === p) peer = undefined;
      await setMode('hls');
      log.info({ reason: seat.reason }, 'no WebRTC seat: the student watches over HLS');
      return { mode: 'hls', reason: seat.reason };
    }
    if (left || p.closed) throw new DomainError('gone', 'You left the class');
    attachRoom(room, p);
    await setMode('webrtc');
    return {
      mode: 'webrtc',
      sources: room
        .mediaSources()
        .filter((s) => s.userId !== user.id)
        .map(sourceInfo),
      onStage: onStage(),
    };
  });

  // The viewer watches the broadcast (HLS) instead: their peer (transports, consumers) closes and their seat
  // frees up, so no WebRTC media flows to them; sfu:join brings them back.
  on('sfu:useHls', UseHls, async ({ cause }) => {
    if (role === 'teacher') throw new DomainError('forbidden', 'The teacher broadcasts in real time');
    if (liveClasses.isOnStage(classId, user.id)) throw new DomainError('on_stage', 'Leave the stage before switching to the broadcast');
    detachRoom?.();
    peer?.close();
    peer = undefined;
    await setMode('hls');
    log.info({ cause }, 'viewer switched to the broadcast (HLS)');
    return { mode: 'hls' as const };
  });

  on('sfu:createTransport', CreateTransport, async ({ direction }): Promise<TransportInfo> => {
    const { peer: p, room } = currentPeer();
    const transport = await room.createWebRtcTransport(p, direction);
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: transport.iceCandidates,
      dtlsParameters: transport.dtlsParameters,
    };
  });

  const ownTransport = (transportId: string): types.WebRtcTransport => {
    const transport = currentPeer().peer.transports.get(transportId);
    if (!transport) throw new DomainError('not_found', 'No such transport');
    return transport;
  };

  on('sfu:connectTransport', ConnectTransport, async ({ transportId, dtlsParameters }) => {
    const transport = ownTransport(transportId);
    try {
      await transport.connect({ dtlsParameters: dtlsParameters as unknown as types.DtlsParameters });
    } catch (err) {
      throw new DomainError('invalid_input', `Cannot connect the transport: ${(err as Error).message}`);
    }
    return { connected: true };
  });

  on('sfu:restartIce', RestartIce, async ({ transportId }) => ({ iceParameters: await ownTransport(transportId).restartIce() }));

  on('sfu:produce', Produce, async ({ transportId, kind, rtpParameters, source }) => {
    if (role === 'admin') throw new DomainError('forbidden', "Only the class's teacher or a student on stage may publish");
    const { peer: p, room } = currentPeer();
    const producer = await room.produce(p, transportId, kind, rtpParameters as unknown as types.RtpParameters, source);
    return { producerId: producer.id };
  });

  const ownProducer = (producerId: string): types.Producer => {
    const producer = currentPeer().peer.producers.get(producerId);
    if (!producer) throw new DomainError('not_found', 'No such producer');
    return producer;
  };
  on('sfu:closeProducer', ProducerRef, ({ producerId }) => {
    ownProducer(producerId).close();
    return { closed: true };
  });
  on('sfu:pauseProducer', ProducerRef, async ({ producerId }) => {
    await ownProducer(producerId).pause();
    return { paused: true };
  });
  on('sfu:resumeProducer', ProducerRef, async ({ producerId }) => {
    await ownProducer(producerId).resume();
    return { paused: false };
  });

  on('sfu:consume', Consume, async ({ producerId }): Promise<ConsumerInfo> => {
    const { peer: p, room } = currentPeer();
    const consumer = await room.consume(p, producerId);
    const appData = consumer.appData as { source: ConsumerInfo['source']; userId: string };
    return {
      consumerId: consumer.id,
      producerId,
      kind: consumer.kind,
      source: appData.source,
      userId: appData.userId,
      rtpParameters: consumer.rtpParameters,
      producerPaused: consumer.producerPaused,
    };
  });

  const ownConsumer = (consumerId: string): types.Consumer => {
    const consumer = currentPeer().peer.consumers.get(consumerId);
    if (!consumer) throw new DomainError('not_found', 'No such consumer');
    return consumer;
  };
  on('sfu:resumeConsumer', ConsumerRef, async ({ consumerId }) => {
    await ownConsumer(consumerId).resume();
    return { paused: false };
  });
  on('sfu:pauseConsumer', ConsumerRef, async ({ consumerId }) => {
    await ownConsumer(consumerId).pause();
    return { paused: true };
  });
  on('sfu:setPreferredLayers', SetPreferredLayers, async ({ consumerId, spatialLayer, temporalLayer }) => {
    const consumer = ownConsumer(consumerId);
    if (consumer.type !== 'simulcast' && consumer.type !== 'svc') return { applied: false };
    await consumer.setPreferredLayers({ spatialLayer, ...(temporalLayer === undefined ? {} : { temporalLayer }) });
    return { applied: true };
  });
  on('sfu:requestKeyFrame', ConsumerRef, async ({ consumerId }) => {
    await ownConsumer(consumerId).requestKeyFrame();
    return { requested: true };
  });

  return () => {
    left = true;
    for (const off of offs) off();
    detachRoom?.();
    peer?.close();
    peer = undefined;
  };
}
