// Wires the parts into one Node server on one port: Hono API (/api, /health, /media), Socket.io
// (/socket.io) and the SvelteKit pages (everything else). `startLectern` is also what tests start.
import http from 'node:http';
import path from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { loadConfig, type Config } from './config.ts';
import { ConfigError } from './config-error.ts';
import { offerDemoData } from './demo/demo-data.ts';
import { createLogger } from './log.ts';
import { openDatabase } from './db/client.ts';
import { SessionStore } from './auth/session-store.ts';
import { Accounts } from './auth/accounts.ts';
import { Permissions } from './auth/permissions.ts';
import { RateLimiter } from './auth/rate-limiter.ts';
import { WorkerPool } from './sfu/worker-pool.ts';
import { probeFfmpeg } from './hls/ffmpeg-info.ts';
import { ClassCatalog } from './classes/class-catalog.ts';
import { CourseCatalog } from './courses/course-catalog.ts';
import { ClassSchedule } from './courses/class-schedule.ts';
import { LessonProgress } from './courses/lesson-progress.ts';
import { LearningAnalytics } from './courses/learning-analytics.ts';
import { TranscodeQueue } from './uploads/transcode-queue.ts';
import { LessonVideos } from './uploads/lesson-videos.ts';
import { MediaTokens } from './hls/media-tokens.ts';
import { MediaAccess } from './hls/media-access.ts';
import { Recordings } from './hls/recordings.ts';
import { MediaStorage } from './storage/media-storage.ts';
import { LiveHlsRelay } from './hls/live-hls-relay.ts';
import { S3Store } from './storage/s3-store.ts';
import { ReplayDownloads } from './hls/replay-downloads.ts';
import { CourseStorage } from './courses/course-storage.ts';
import { RoomRegistry } from './sfu/room-registry.ts';
import { roomCapacity } from './sfu/capacity.ts';
import { LocalClassSeats, type ClassSeats } from './sfu/class-seats.ts';
import { RedisClassSeats } from './cluster/redis-class-seats.ts';
import { LiveClassLifecycle } from './classes/live-class-lifecycle.ts';
import { ClusterNode } from './cluster/cluster-node.ts';
import { ClassOrigins } from './cluster/class-origins.ts';
import { ClusterRedis } from './cluster/cluster-redis.ts';
import { NodeDepartures } from './cluster/node-departures.ts';
import { NodeRegistry } from './cluster/node-registry.ts';
import { NodeRelay } from './cluster/node-relay.ts';
import { OriginRelay } from './cluster/origin-relay.ts';
import { defaultNodeUrl } from './cluster/node-url.ts';
import { SessionNodes } from './cluster/session-nodes.ts';
import { LiveHls } from './hls/live-hls.ts';
import { mediaSignalling } from './realtime/media-signalling.ts';
import { goLiveFeature } from './realtime/go-live-feature.ts';
import { stageFeature } from './realtime/stage-feature.ts';
import { ClassPresence } from './realtime/presence.ts';
import { PresenceStore } from './cluster/presence-store.ts';
import { createHttpApp } from './http/app.ts';
import { SecurityHeaders } from './http/security-headers.ts';
import { OperatorAccess } from './http/operator-access.ts';
import { metricsRoutes } from './http/routes/metrics.ts';
import { adminRoutes } from './http/routes/admin.ts';
import { AuditLog } from './admin/audit-log.ts';
import { AdminAccounts } from './admin/admin-accounts.ts';
import { AdminOverview } from './admin/admin-overview.ts';
import { openApiRoutes } from './http/routes/openapi.ts';
import { API_OPERATIONS } from './http/openapi/api-operations.ts';
import { buildOpenApiDocument } from './http/openapi/openapi-document.ts';
import packageJson from '../package.json' with { type: 'json' };
import { HttpMetrics } from './metrics/http-metrics.ts';
import { MediaMetrics } from './metrics/media-metrics.ts';
import { ActivityMetrics } from './metrics/activity-metrics.ts';
import { createSocketServer, type LecternIo } from './realtime/socket-server.ts';
import { ClassMembership, staffRoom } from './realtime/class-membership.ts';
import { ConnectionQuality } from './sfu/connection-quality.ts';
import { TeacherMediaFlow } from './sfu/teacher-media-flow.ts';
import { TeacherMediaFeature } from './realtime/teacher-media-feature.ts';
import { iceServersFor } from './net/turn-credentials.ts';
import { ConnectivityProbes } from './sfu/connectivity-probe.ts';
import { Interaction } from './interaction/interaction.ts';
import { FloodControl } from './interaction/flood-control.ts';
import { RedisFloodControl } from './interaction/redis-flood-control.ts';
import { registerInteraction } from './realtime/interaction-features.ts';
import { createAppHandler } from './app-handler.ts';
import { SessionCookies } from './auth/session-cookies.ts';
import { createPageServer, publishPageServer } from './pages/page-server.ts';
import { healthRoutes } from './http/routes/health.ts';
import { authRoutes } from './http/routes/auth.ts';
import { courseRoutes } from './http/routes/courses.ts';
import { lessonRoutes } from './http/routes/lessons.ts';
import { progressRoutes } from './http/routes/progress.ts';
import { uploadRoutes } from './http/routes/uploads.ts';
import { classScheduleRoutes, courseClassRoutes } from './http/routes/classes.ts';
import { scheduleRoutes } from './http/routes/schedule.ts';
import { classAnalyticsRoutes, courseAnalyticsRoutes } from './http/routes/analytics.ts';
import { lessonMediaRoutes } from './http/routes/lesson-media.ts';
import { pollRoutes } from './http/routes/polls.ts';
import { mediaApiRoutes, mediaRoutes } from './http/routes/media.ts';
import { replayTimelineRoutes } from './http/routes/replay-timeline.ts';
import { ReplayTimelines } from './interaction/replay-timeline.ts';
import { accountRecoveryRoutes } from './http/routes/account-recovery.ts';
import { avatarRoutes, courseHandOverRoutes, profileRoutes } from './http/routes/profile.ts';
import { courseInvitationRoutes, invitationRoutes } from './http/routes/invitations.ts';
import { mailPreferenceRoutes, oneClickUnsubscribeRoutes } from './http/routes/mail.ts';
import { whepRoutes } from './http/routes/whep.ts';
import { whipRoutes } from './http/routes/whip.ts';
import { StreamKeys } from './auth/stream-keys.ts';
import { WhepPlayback } from './sfu/whep-playback.ts';
import { WhipIngest } from './sfu/whip-ingest.ts';
import { MailOutbox } from './mail/mail-outbox.ts';
import { MailPreferences } from './mail/mail-preferences.ts';
import { MailDispatcher } from './mail/mail-dispatcher.ts';
import { createMailTransport } from './mail/mail-transport.ts';
import { AccountTokens } from './accounts/account-tokens.ts';
import { AccountMail } from './accounts/account-mail.ts';
import { CourseInvitations } from './accounts/course-invitations.ts';
import { AccountProfile } from './accounts/account-profile.ts';
import { ClassNotices } from './notices/class-notices.ts';
import type { Logger } from './log.ts';
import type { DatabaseHandle } from './db/client.ts';

/**
 * The running server. Besides its address and close(), it shows the parts it owns that tests look into (the
 * database, the SFU, the live classes, HLS, transcodes, interaction); nothing in the product is handed this.
 */
export interface LecternServer {
  url: string;
  /** The demo logins, when `demo` added them at start-up. */
  demoLogins: string | undefined;
  port: number;
  config: Config;
  log: Logger;
  database: DatabaseHandle;
  workers: WorkerPool;
  rooms: RoomRegistry;
  liveClasses: LiveClassLifecycle;
  liveHls: LiveHls;
  recordings: Recordings;
  /** Replays and lesson videos: this machine's data directory, and the object store when configured. */
  mediaStorage: MediaStorage;
  /** The replays' MP4 downloads (tests wait for them). */
  replayDownloads: ReplayDownloads;
  mediaAccess: MediaAccess;
  transcodes: TranscodeQueue;
  lessonVideos: LessonVideos;
  interaction: Interaction;
  /** Sends the mail outbox (tests drain it). */
  mailer: MailDispatcher;
  /** Class reminders and notices (tests run its scan). */
  notices: ClassNotices;
  /** The WHEP viewers' sessions. */
  whepPlayback: WhepPlayback;
  io: LecternIo;
  /** Every HTTP route the API serves (method and Hono pattern): the OpenAPI test checks each is described. */
  httpRoutes: readonly { method: string; path: string }[];
  close(): Promise<void>;
}

export interface StartOptions {
  config?: Config;
  /** 'build' serves app/build; 'dev' runs Vite with hot reload; 'none' serves only the API (socket tests). */
  app?: 'build' | 'dev' | 'none';
  /** Add the demo accounts, course and class before serving (`npm start -- --demo`). */
  demo?: boolean;
}

const API_PREFIXES = ['/api/', '/health', '/metrics', '/media/', '/mail/'];

export async function startLectern(options: StartOptions = {}): Promise<LecternServer> {
  const config = options.config ?? loadConfig();
  const log = createLogger(config.logLevel);
  const database = await openDatabase({ url: config.databaseUrl, pgliteDir: path.join(config.dataDir, 'db') });
  log.info({ kind: database.kind }, 'database ready (migrations applied)');
  const demo = await offerDemoData({ database, dataDir: config.dataDir, addNow: options.demo ?? false, log });

  const workers = new WorkerPool({
    size: config.media.workers,
    workerBin: config.media.workerBin,
    listenIp: config.media.listenIp,
    announcedIps: config.media.announcedIps,
    rtcPort: config.media.rtcPort,
    rtcMinPort: config.media.rtcMinPort,
    rtcMaxPort: config.media.rtcMaxPort,
    log: log.child({ module: 'sfu' }),
  });
  const [ffmpeg] = await Promise.all([probeFfmpeg(config.ffmpegPath), workers.start()]);
  // Several nodes (Redis): which nodes are alive and how to reach them (this node's URL is known once it listens,
  // unless LECTERN_NODE_URL says it); the cluster's other parts follow further down.
  let nodeUrl = config.nodeUrl ?? '';
  const clusterLog = log.child({ module: 'cluster' });
  // This node's one Redis command connection, passed to every part that keeps cluster state there (closed last).
  const clusterRedis = config.redisUrl ? await ClusterRedis.connect({ url: config.redisUrl, log: clusterLog }) : undefined;
  const redisParts = clusterRedis
    ? { redis: clusterRedis, prefix: config.redisPrefix, nodeName: config.cluster.nodeName, log: clusterLog }
    : undefined;
  const nodeRegistry = redisParts ? await NodeRegistry.start({ ...redisParts, nodeUrl: () => nodeUrl }) : undefined;
  // Each class's WebRTC seats against its cap (LECTERN_MAX_WEBRTC_VIEWERS), counted class-wide: over every node in a cluster.
  const maxWebRtcViewers = config.media.maxWebRtcViewers;
  const classSeats: ClassSeats =
    redisParts && nodeRegistry && maxWebRtcViewers !== undefined
      ? await RedisClassSeats.start({ ...redisParts, cap: maxWebRtcViewers, nodes: nodeRegistry })
      : new LocalClassSeats(maxWebRtcViewers);
  const rooms = new RoomRegistry(workers, roomCapacity(config.media.consumersPerWorker, classSeats), log.child({ module: 'sfu' }));
  // /metrics: one registry per server (tests run several in a process); process figures (event-loop lag,
  // memory, GC) come from prom-client's defaults.
  const metricsRegistry = new Registry();
  collectDefaultMetrics({ register: metricsRegistry });
  const httpMetrics = new HttpMetrics(metricsRegistry);
  if (!ffmpeg.found) log.warn({ path: config.ffmpegPath }, 'ffmpeg not found: HLS and recordings are unavailable');

  const db = database.db;
  const sessions = new SessionStore(db, { days: config.sessionDays });
  const cookies = new SessionCookies(sessions, { secure: config.secureCookies });
  const accounts = new Accounts(db);
  const permissions = new Permissions(db);
  const classes = new ClassCatalog(db);
  const courses = new CourseCatalog(db);
  const schedule = new ClassSchedule(db);
  const progress = new LessonProgress(db);
  const analytics = new LearningAnalytics(db);
  // With Redis, a person's flood limits are shared by every node (their sockets may land on several).
  const interaction = new Interaction(
    db,
    clusterRedis
      ? new RedisFloodControl({ redis: clusterRedis, prefix: config.redisPrefix, log: log.child({ module: 'interaction' }) })
      : new FloodControl(),
  );
  const mediaAccess = new MediaAccess({ tokens: new MediaTokens(config.mediaSecret), permissions, accounts });
  if (config.redisUrl && !config.mediaSecret)
    log.warn(
      'REDIS_URL is set but LECTERN_MEDIA_SECRET is not: media links signed by one node are refused by the others; give every node the same secret',
    );
  const objectStore = config.objectStorage ? new S3Store(config.objectStorage, log.child({ module: 'storage' })) : null;
  const mediaStorage = new MediaStorage({ dataDir: config.dataDir, remote: objectStore, log: log.child({ module: 'storage' }) });
  if (objectStore) log.info({ store: objectStore.name }, 'replays and lesson videos are kept in object storage');
  const transcodes = new TranscodeQueue({
    db,
    dataDir: config.dataDir,
    ffmpegPath: config.ffmpegPath,
    ffprobePath: config.ffprobePath,
    log: log.child({ module: 'transcode' }),
  });
  const lessonVideos = new LessonVideos({
    db,
    dataDir: config.dataDir,
    queue: transcodes,
    storage: mediaStorage,
    access: mediaAccess,
    uploadsPerUploader: config.uploadsPerTeacher,
  });
  // Mail: links need the public address; without LECTERN_ORIGIN it is known once the server listens.
  let publicOrigin = config.origin ?? '';
  const mailLog = log.child({ module: 'mail' });
  const outbox = new MailOutbox(db);
  const mailPreferences = await MailPreferences.open(db);
  const mailer = new MailDispatcher({
    outbox,
    transport: createMailTransport(config.mail.smtpUrl, mailLog),
    preferences: mailPreferences,
    origin: () => publicOrigin,
    from: config.mail.from,
    retrySeconds: config.mail.retrySeconds,
    giveUpHours: config.mail.giveUpHours,
    log: mailLog,
  });
  const accountTokens = new AccountTokens(db);
  const accountMail = new AccountMail({ accounts, tokens: accountTokens, outbox });
  const invitations = new CourseInvitations({
    db,
    outbox,
    accounts,
    perRequest: config.accounts.invitesPerRequest,
    perDay: config.accounts.invitesPerDay,
  });
  const notices = new ClassNotices({ db, outbox, reminderMinutes: config.accounts.reminderMinutes, log: log.child({ module: 'notices' }) });
  for (const composers of [accountMail, invitations, notices]) composers.registerWith(mailer);
  const profile = new AccountProfile({ db, dataDir: config.dataDir, ffmpegPath: config.ffmpegPath });
  const registrationLimiter = new RateLimiter({ max: config.registrationsPerHour, windowMs: 3600_000 });

  const recordings: Recordings = new Recordings({
    db,
    dataDir: config.dataDir,
    storage: mediaStorage,
    ffmpegPath: config.ffmpegPath,
    access: mediaAccess,
    log: log.child({ module: 'hls' }),
    // A replay became watchable: the notices scan mails the enrolled students now rather than on its next round.
    onReady: () => notices.scanSoon(),
    // Its MP4 download is made (then it goes to the object store).
    derived: {
      make: (recordingId): void => void replayDownloads.request(recordingId),
      stop: (recordingId): Promise<void> => replayDownloads.cancel(recordingId),
    },
  });
  const replayDownloads: ReplayDownloads = new ReplayDownloads({
    db,
    ffmpegPath: config.ffmpegPath,
    locate: (recordingId) => recordings.location(recordingId),
    storage: mediaStorage,
    // The chapters the teacher marked, where they fall in the replay.
    chapters: (recording) => timelines.chapters(recording),
    log: log.child({ module: 'hls' }),
  });
  const timelines = new ReplayTimelines({
    recordings,
    interaction,
    storage: mediaStorage,
    // The MP4 carries the chapters: made again with the new ones.
    onChaptersChanged: (recordingId) => void replayDownloads.request(recordingId),
  });
  const liveHls = new LiveHls({
    db,
    recordings,
    ffmpegPath: config.ffmpegPath,
    enabled: ffmpeg.found,
    listenIp: '127.0.0.1',
    log: log.child({ module: 'hls' }),
  });
  lessonVideos.start();
  if (ffmpeg.found) await transcodes.start();
  // In a cluster, who is in each class through every node, in Redis: any node answers for the whole class.
  const presenceStore = clusterRedis
    ? new PresenceStore({
        redis: clusterRedis,
        prefix: config.redisPrefix,
        nodeName: config.cluster.nodeName,
        log: log.child({ module: 'presence' }),
      })
    : undefined;
  const liveClasses = new LiveClassLifecycle({
    db,
    rooms,
    liveHls,
    graceSeconds: config.media.teacherGraceSeconds,
    interruptedEndMinutes: config.media.interruptedEndMinutes,
    roster: presenceStore,
    // With Redis, this process is one node of a cluster (made once the Socket.io server exists, like the above).
    placement: config.redisUrl
      ? { originFor: (classId, publish) => cluster!.originFor(classId, publish), feed: (room) => cluster!.feed(room) }
      : undefined,
    log: log.child({ module: 'live-class' }),
  });
  // Recordings a crashed process left behind are finalised now.
  const mediaMetrics = new MediaMetrics({
    registry: metricsRegistry,
    workers,
    rooms,
    viewers: (classId) => liveClasses.presence(classId)?.viewers,
    bridge: (classId) => liveHls.bridge(classId),
    log: log.child({ module: 'metrics' }),
  });
  if (ffmpeg.found) {
    await recordings.recoverInterrupted(liveHls.recordingIds());
    // Classes recorded before a class had one recording: their recordings become one.
    await recordings.joinDuplicates();
    // Replays without their MP4 yet (a stopped process, or made before downloads existed).
    await replayDownloads.resume();
  }
  // Finished media a stop (or an unreachable store) left on this machine only goes up now, in the background.
  await recordings.uploadPending();
  await lessonVideos.uploadPending();

  // Several nodes (Redis): where each class originates and each WHIP/WHEP session lives; a request for what another
  // node holds (a live class's HLS, a session) is relayed there.
  const classOrigins = redisParts && new ClassOrigins(redisParts);
  const sessionNodes = redisParts && new SessionNodes(redisParts);
  const nodeRelay = nodeRegistry && new NodeRelay({ nodes: nodeRegistry, log: clusterLog });
  const originRelay = classOrigins && nodeRelay && new OriginRelay({ origins: classOrigins, relay: nodeRelay, log: clusterLog });
  const liveHlsRelay = originRelay && new LiveHlsRelay({ origin: originRelay });

  const streamKeys = new StreamKeys(db);
  const whipIngest = new WhipIngest({
    keys: streamKeys,
    classes: schedule,
    users: accounts,
    rooms,
    liveClasses,
    // An encoder that posted an offer but never connects, or whose media stops without a DELETE.
    timeouts: { connectMs: 30_000, disconnectedMs: 15_000 },
    records: sessionNodes?.of('whip'),
    log: log.child({ module: 'whip' }),
  });
  const whepPlayback = new WhepPlayback({
    permissions,
    liveClasses,
    // A player that posted an offer but never connects, or that vanished without DELETE.
    timeouts: { connectMs: 30_000, disconnectedMs: 15_000 },
    records: sessionNodes?.of('whep'),
    log: log.child({ module: 'whep' }),
  });

  const apiLog = log.child({ module: 'http' });
  const auditLog = new AuditLog(db, log.child({ module: 'audit' }));
  const operatorAccess = new OperatorAccess({ token: config.metricsToken, trustProxy: config.trustProxy });
  let closing: Promise<void> | undefined;
  const sessionRelay = sessionNodes && nodeRelay && { nodes: sessionNodes, relay: nodeRelay, log: apiLog };
  const classRouteParts = {
    permissions,
    schedule,
    courses,
    origin: config.origin,
    notices,
    requireVerifiedEmail: config.accounts.requireVerifiedEmail,
    log: apiLog,
  };
  const invitationParts = {
    invitations,
    permissions,
    accounts,
    sessions,
    cookies,
    registrationLimiter,
    trustProxy: config.trustProxy,
    requireVerifiedEmail: config.accounts.requireVerifiedEmail,
    log: apiLog,
  };
  const api = createHttpApp(
    { origin: config.origin, cookies, log: apiLog, requestMetrics: httpMetrics.middleware() },
    {
      metrics: metricsRoutes({ registry: metricsRegistry, access: operatorAccess }),
      admin: adminRoutes({
        accounts: new AdminAccounts({ db, sessions, audit: auditLog }),
        overview: new AdminOverview({
          db,
          viewers: (classId) => liveClasses.presence(classId)?.viewers,
          studentModes: presenceStore && ((classId) => presenceStore.studentModes(classId)),
          figures: (classId) => mediaMetrics.lastFigures(classId),
          hlsStatus: (classId) => liveHls.status(classId),
          bridge: (classId) => liveHls.bridge(classId),
        }),
        audit: auditLog,
        log: apiLog,
      }),
      openApi: openApiRoutes({
        document: buildOpenApiDocument(API_OPERATIONS, { version: packageJson.version, serverUrl: config.origin }),
      }),
      health: healthRoutes({ database, workers, ffmpeg, access: operatorAccess, closing: () => closing !== undefined }),
      auth: authRoutes({
        accounts,
        sessions,
        cookies,
        loginLimiter: new RateLimiter({ max: 5, windowMs: 15 * 60_000 }),
        registrationLimiter,
        trustProxy: config.trustProxy,
        accountMail,
        log: apiLog,
      }),
      courses: courseRoutes({
        permissions,
        courses,
        schedule,
        progress,
        recordings,
        storage: new CourseStorage({ db, dataDir: config.dataDir, recordings, videos: lessonVideos }),
        mediaAccess,
        videos: lessonVideos,
        requireVerifiedEmail: config.accounts.requireVerifiedEmail,
        log: apiLog,
      }),
      courseClasses: courseClassRoutes(classRouteParts),
      courseAnalytics: courseAnalyticsRoutes({ permissions, schedule, analytics }),
      lessons: lessonRoutes({ permissions, courses, progress, videos: lessonVideos, recordings, access: mediaAccess }),
      progress: progressRoutes({ permissions, progress }),
      uploads: uploadRoutes({
        permissions,
        videos: lessonVideos,
        courses,
        ffmpeg,
        ffprobePath: config.ffprobePath,
        maxUploadBytes: config.maxUploadBytes,
        log: apiLog,
      }),
      classSchedule: classScheduleRoutes(classRouteParts),
      classAnalytics: classAnalyticsRoutes({ permissions, schedule, analytics }),
      polls: pollRoutes({ permissions, polls: interaction.polls }),
      schedule: scheduleRoutes({ schedule, origin: config.origin }),
      lessonMedia: lessonMediaRoutes({ access: mediaAccess, videos: lessonVideos }),
      mediaApi: mediaApiRoutes({ liveHls, relay: liveHlsRelay, recordings, access: mediaAccess, permissions, courses, progress }),
      media: mediaRoutes({ liveHls, recordings, access: mediaAccess, timelines, relay: liveHlsRelay }),
      replayTimeline: replayTimelineRoutes({ recordings, timelines, access: mediaAccess, permissions }),
      accountRecovery: accountRecoveryRoutes({
        accounts,
        sessions,
        cookies,
        tokens: accountTokens,
        accountMail,
        trustProxy: config.trustProxy,
        log: apiLog,
      }),
      profile: profileRoutes({ profile, accounts, sessions, cookies, log: apiLog }),
      avatars: avatarRoutes({ profile }),
      courseInvitations: courseInvitationRoutes(invitationParts),
      invitations: invitationRoutes(invitationParts),
      courseHandOver: courseHandOverRoutes({ profile, permissions, log: apiLog }),
      mailPreferences: mailPreferenceRoutes({ preferences: mailPreferences, log: mailLog }),
      unsubscribe: oneClickUnsubscribeRoutes({ preferences: mailPreferences, log: mailLog }),
      whip: whipRoutes({
        ingest: whipIngest,
        keys: streamKeys,
        schedule,
        permissions,
        origin: config.origin,
        relay: sessionRelay,
        classOrigin: originRelay,
        log: apiLog,
      }),
      whep: whepRoutes({ playback: whepPlayback, tokens: mediaAccess.tokens, accounts, relay: sessionRelay }),
    },
  );
  const apiListener = getRequestListener(api.fetch);
  const httpServer = http.createServer();
  const appMode = options.app ?? 'build';
  const appHandler = appMode === 'none' ? null : await createAppHandler(appMode, httpServer);
  // The pages' server code reaches this process through one narrow facade (see pages/page-server.ts).
  const withdrawPages = appHandler ? publishPageServer(createPageServer({ cookies, classes, courses, permissions })) : undefined;

  const securityHeaders = new SecurityHeaders({ https: config.origin?.startsWith('https:') ?? false });
  // In a cluster, every answer says which node gave it (behind a load balancer, for operators and tests).
  const nodeName = config.redisUrl ? config.cluster.nodeName : undefined;
  httpServer.on('request', (req, res) => {
    const url = req.url ?? '/';
    if (nodeName) res.setHeader('X-Lectern-Node', nodeName);
    if (url.startsWith('/socket.io/')) return; // answered by Socket.io's own listener
    if (API_PREFIXES.some((p) => url.startsWith(p)) || !appHandler) {
      securityHeaders.applyToData(res);
      return void apiListener(req, res);
    }
    securityHeaders.applyToPage(res);
    httpMetrics.observeNode(req, res, url.startsWith('/_app/') ? 'app-file' : 'page');
    appHandler.handle(req, res, () => {
      securityHeaders.applyToData(res);
      void apiListener(req, res);
    });
  });
  const realtime = await createSocketServer(httpServer, {
    origin: config.origin,
    redisUrl: config.redisUrl,
    redisPrefix: config.redisPrefix,
    cookies,
    sessions,
    log: log.child({ module: 'realtime' }),
  });
  // Class features (SFU signalling, chat, Q&A, polls, hands, presence) plug in here with membership.use().
  const membership = new ClassMembership(realtime.io, { permissions, log: log.child({ module: 'realtime' }) });
  const cluster = classOrigins
    ? new ClusterNode({
        io: realtime.io,
        nodeName: config.cluster.nodeName,
        pipeIp: config.cluster.pipeIp,
        portRange: { min: config.media.rtcMinPort, max: config.media.rtcMaxPort },
        rooms,
        origins: classOrigins,
        log: clusterLog,
      })
    : undefined;
  cluster?.shareStatusWith(liveClasses);
  const presence = new ClassPresence(realtime.io, liveClasses, { roster: presenceStore, log: log.child({ module: 'realtime' }) });
  // A dead node's members leave their classes; wired once statuses and presence are shared, so every node hears it.
  const nodeDepartures =
    presenceStore && nodeRegistry && new NodeDepartures({ roster: presenceStore, nodes: nodeRegistry, liveClasses, log: clusterLog });
  await nodeDepartures?.start();
  membership.use(presence.feature);
  const classLog = log.child({ module: 'live-class' });
  membership.use(goLiveFeature({ liveClasses, log: classLog }));
  membership.use(stageFeature({ liveClasses, log: classLog }));
  // The studio says "live" only once the teacher's media reaches the media server; students learn when it does not.
  const teacherMediaFlow = new TeacherMediaFlow({ rooms, log: log.child({ module: 'teacher-media' }) });
  const teacherMedia = new TeacherMediaFeature(realtime.io, teacherMediaFlow);
  membership.use(teacherMedia.feature);
  membership.use(
    mediaSignalling({
      liveClasses,
      iceServersFor: (userId) => iceServersFor(config.media, userId),
      cameraLayers: config.media.cameraLayers,
      log: log.child({ module: 'signalling' }),
    }),
  );
  const activityMetrics = new ActivityMetrics({
    registry: metricsRegistry,
    db,
    socketConnections: () => realtime.io.engine.clientsCount,
    pendingUploads: () => mediaStorage.pendingUploads.length,
  });
  transcodes.on('finished', (outcome, seconds) => activityMetrics.observeTranscode(outcome, seconds));
  const interactionFeatures = registerInteraction(membership, {
    interaction,
    tally: activityMetrics.tally,
    audit: auditLog,
    log: log.child({ module: 'interaction' }),
    // Signed media URLs already handed out re-check access through a short cache: forget it on removal.
    onRemoved: (classId, userId) => {
      mediaAccess.forget(userId);
      whepPlayback.removeUser(classId, userId);
    },
  });
  // The pre-join connectivity check talks to the media server before (and without) joining a class.
  const probes = new ConnectivityProbes(workers, config.media, log.child({ module: 'probe' }));
  realtime.io.on('connection', (socket) => probes.attach(socket));
  const quality = new ConnectionQuality({
    rooms,
    viewers: (classId) => liveClasses.presence(classId)?.viewers,
    publish: (push) => void realtime.io.to(staffRoom(push.classId)).emit('quality:update', push),
    summarise: (summary) => mediaMetrics.observeDelivery(summary),
    turnUrls: config.media.turn?.urls ?? [],
    log: log.child({ module: 'quality' }),
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const address = httpServer.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
  publicOrigin ||= url;
  nodeUrl ||= defaultNodeUrl(config.host, port);
  await nodeRegistry?.beat(); // the other nodes learn this node's URL now rather than at its next beat
  mailer.start();
  notices.start();

  const purge = setInterval(() => {
    sessions.purgeExpired().catch((err: unknown) => log.warn({ err }, 'session purge failed'));
    accountTokens.purgeExpired().catch((err: unknown) => log.warn({ err }, 'account token purge failed'));
  }, config.sessionPurgeSeconds * 1000);
  purge.unref();

  const close = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(purge);
      quality.close();
      teacherMedia.close();
      teacherMediaFlow.close();
      mediaMetrics.close();
      probes.close();
      await membership.close(); // every member leaves its class: their media peers close, attendance rows close
      cluster?.close(); // edge feeds close, nothing more is told to the other nodes
      await classOrigins?.close(); // this node's class origins are free at once for the other nodes
      nodeDepartures?.close(); // no more clearing for nodes gone or presence told again
      await nodeRegistry?.close(); // the other nodes see this one gone at their next beat
      presence.close(); // no broadcasts once the Socket.io server (and its Redis clients) are going away
      interactionFeatures.close(); // sends the chat batches still collecting, stops their timers
      await realtime.close(); // also closes the HTTP server
      await notices.close();
      await mailer.close(); // the message in hand is finished or left to its lease; the rest stays queued
      await transcodes.close();
      await appHandler?.close();
      await interaction.close();
      whipIngest.close();
      whepPlayback.close();
      await sessionNodes?.close(); // their records go with them
      await liveClasses.close(); // each class closes its bridge (ffmpeg writes its last segments), then its room
      await presenceStore?.close(); // this node's members left the roster with their classes above
      await liveHls.close();
      await recordings.settled(); // the recordings of those bridges are finalised
      await replayDownloads.close(); // the MP4 being made stops; the next start makes it
      await mediaStorage.close(); // uploads stop; what was not uploaded stays here and goes up at the next start
      objectStore?.close();
      rooms.close();
      await classSeats.close(); // after the rooms: their students gave their seats back
      await clusterRedis?.close(); // last: every part above said its goodbye on it
      workers.close();
      await demo.close();
      await database.close();
      withdrawPages?.();
      log.info('lectern stopped');
    })());

  log.info({ url, app: appMode, workers: workers.health().alive, ffmpeg: ffmpeg.version }, 'lectern is listening');
  return {
    url,
    demoLogins: demo.added,
    port,
    config,
    log,
    database,
    workers,
    rooms,
    liveClasses,
    liveHls,
    recordings,
    mediaStorage,
    replayDownloads,
    mediaAccess,
    transcodes,
    lessonVideos,
    interaction,
    mailer,
    notices,
    whepPlayback,
    io: realtime.io,
    httpRoutes: api.routes.filter((r) => r.method !== 'ALL').map(({ method, path }) => ({ method, path })),
    close,
  };
}

// Run as a program: `node server/main.ts [--dev]`
if (import.meta.main) {
  const dev = process.argv.includes('--dev');
  const server = await startLectern({ app: dev ? 'dev' : 'build', demo: process.argv.includes('--demo') }).catch((err: unknown) => {
    // A configuration that cannot work is one plain line; anything else keeps its stack for the bug report.
    console.error(err instanceof ConfigError ? `lectern: cannot start: ${err.message}` : err);
    process.exit(1);
  });
  console.log(`\n  Lectern is live on ${server.url}  (health: ${server.url}/health)\n`);
  if (server.demoLogins) console.log(`${server.demoLogins}\n`);
  const shutdown = (signal: string): void => {
    server.log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}
