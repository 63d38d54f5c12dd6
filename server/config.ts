// One typed, validated source of every environment variable the server reads.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './config-error.ts';
import { parseAnnouncedAddresses } from './sfu/rtc-addresses.ts';
import { DEFAULT_CONSUMERS_PER_WORKER } from './sfu/capacity.ts';
import type { IceServer, TurnOptions } from './net/turn-credentials.ts';
import type { S3StoreOptions } from './storage/s3-store.ts';

const bool = z.enum(['1', '0', 'true', 'false', 'yes', 'no']).transform((v) => v === '1' || v === 'true' || v === 'yes');

/** Every variable the server reads (exported so tests can check deployment files against it). */
export const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Public origin used in links and the CSRF origin check, e.g. https://class.example.org */
  LECTERN_ORIGIN: z
    .url({ protocol: /^https?$/, message: 'LECTERN_ORIGIN must be an http(s) URL, e.g. https://class.example.org' })
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** postgres:// URL; unset means embedded PGlite in LECTERN_DATA_DIR/db */
  DATABASE_URL: z.string().optional(),
  /** Where PGlite, HLS segments, recordings and uploads live */
  LECTERN_DATA_DIR: z.string().default('.data'),
  REDIS_URL: z.string().optional(),
  /** This node's name in a cluster (several processes sharing REDIS_URL): unique per process; generated when unset */
  LECTERN_NODE_NAME: z
    .string()
    .regex(/^[\w.-]{1,64}$/)
    .optional(),
  /** Address other nodes reach this node's media pipes at (mediasoup PipeTransport, UDP); a wildcard listen address means 127.0.0.1 */
  LECTERN_PIPE_IP: z.union([z.ipv4(), z.ipv6()]).optional(),
  /** Prefix of the Socket.io adapter's Redis channels: one per deployment sharing a Redis server */
  LECTERN_REDIS_PREFIX: z
    .string()
    .regex(/^[\w.:-]{1,64}$/)
    .default('lectern'),
  /** Marks cookies Secure; on by default when the origin is https */
  LECTERN_SECURE_COOKIES: bool.optional(),
  SESSION_DAYS: z.coerce.number().positive().default(30),
  /** How often expired sessions are deleted (and their open sockets disconnected) */
  LECTERN_SESSION_PURGE_SECONDS: z.coerce.number().positive().default(3600),
  /** Behind a reverse proxy: take the client address from the last X-Forwarded-For hop */
  LECTERN_TRUST_PROXY: bool.default(false),
  /** Accounts one address may create per hour (argon2 makes each one cost ~19 MiB and tens of ms) */
  LECTERN_REGISTRATIONS_PER_HOUR: z.coerce.number().int().min(1).default(20),
  /** Bearer token for /metrics (besides loopback) and the detailed /health (besides admins) */
  LECTERN_METRICS_TOKEN: z
    .string()
    .optional()
    .refine((s) => !s || s.length >= 16, { message: 'must be at least 16 characters' }),
  /** Signs short-lived media URLs (HLS); generated per process when unset (several nodes must share one) */
  LECTERN_MEDIA_SECRET: z.string().min(16).optional(),
  /** How the other nodes reach this one (live HLS is fetched from a class's origin node); default http://<this machine>:<PORT> */
  LECTERN_NODE_URL: z
    .url({ protocol: /^https?$/, message: 'LECTERN_NODE_URL must be an http(s) URL, e.g. http://10.0.0.5:3000' })
    .optional(),
  // Object storage (S3-compatible) for replays and lesson videos; unset: the data directory
  LECTERN_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')
    .optional(),
  /** The store's URL (MinIO, Ceph, another provider); unset: AWS S3 */
  LECTERN_S3_ENDPOINT: z.url({ protocol: /^https?$/, message: 'LECTERN_S3_ENDPOINT must be an http(s) URL' }).optional(),
  LECTERN_S3_REGION: z.string().min(1).default('us-east-1'),
  LECTERN_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  LECTERN_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  /** Bucket in the URL's path rather than its host name; on by default with LECTERN_S3_ENDPOINT */
  LECTERN_S3_FORCE_PATH_STYLE: bool.optional(),
  /** Prepended to every object key, e.g. lectern/ (several deployments in one bucket) */
  LECTERN_S3_PREFIX: z
    .string()
    .regex(/^(?:[A-Za-z0-9._-]+\/)+$/, 'must be names ending in a slash, e.g. lectern/')
    .optional(),
  // Media
  MEDIASOUP_WORKER_BIN: z.string().optional(),
  LECTERN_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
  /** WebRTC listen address; a wildcard announces every usable address of this machine unless LECTERN_ANNOUNCED_IP says otherwise */
  LECTERN_LISTEN_IP: z.string().default('0.0.0.0'),
  /** Comma-separated addresses (or host names) browsers reach the media server at: NAT, containers */
  LECTERN_ANNOUNCED_IP: z.string().optional(),
  /** First UDP/TCP port for the WebRtcServers (one port per worker) */
  LECTERN_RTC_PORT: z.coerce.number().int().min(0).max(65535).default(40000),
  /** Lowest/highest port for PlainTransports towards ffmpeg */
  LECTERN_RTC_MIN_PORT: z.coerce.number().int().min(1024).max(65535).default(41000),
  LECTERN_RTC_MAX_PORT: z.coerce.number().int().min(1024).max(65535).default(49999),
  /** JSON array of RTCIceServer handed to browsers */
  LECTERN_ICE_SERVERS: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (!s) return [] as { urls: string | string[]; username?: string; credential?: string }[];
      try {
        return z
          .array(
            z.object({
              urls: z.union([z.string(), z.array(z.string())]),
              username: z.string().optional(),
              credential: z.string().optional(),
            }),
          )
          .parse(JSON.parse(s));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'LECTERN_ICE_SERVERS must be a JSON array of {urls, username?, credential?}' });
        return z.NEVER;
      }
    }),
  /** Comma-separated turn:/turns: URLs of coturn servers run with use-auth-secret; needs LECTERN_TURN_SECRET */
  LECTERN_TURN_URLS: z.string().optional(),
  /** coturn's static-auth-secret: signs the time-limited TURN credentials handed to each user */
  LECTERN_TURN_SECRET: z.string().optional(),
  /** Lifetime of a TURN credential; it must outlast the longest class (coturn checks it on every refresh) */
  LECTERN_TURN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(7 * 86400)
    .default(86400),
  /** Simulcast layers of the teacher's camera (3: 1/4, 1/2 and full size; 1: one full-size stream, less work for the teacher's machine) */
  LECTERN_CAMERA_LAYERS: z.coerce.number().int().min(1).max(3).default(3),
  /** Optional cap on one class's WebRTC students (and WHEP players), below what the workers carry; over every node in a cluster */
  LECTERN_MAX_WEBRTC_VIEWERS: z.coerce.number().int().min(0).optional(),
  /** Consumers one mediasoup worker carries (mediasoup's figure until the fan-out bench measures ours); a student takes 2 */
  LECTERN_CONSUMERS_PER_WORKER: z.coerce.number().int().min(2).default(DEFAULT_CONSUMERS_PER_WORKER),
  LECTERN_TEACHER_GRACE_SECONDS: z.coerce.number().int().min(0).default(30),
  /** An interrupted class (teacher gone past the grace period) ends itself after this many minutes */
  LECTERN_INTERRUPTED_END_MINUTES: z.coerce.number().min(0).default(10),
  FFMPEG_PATH: z.string().default('ffmpeg'),
  FFPROBE_PATH: z.string().default('ffprobe'),
  /** Largest lesson video a teacher may upload, in bytes (default 2 GiB) */
  LECTERN_MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(2 * 1024 ** 3),
  /** Lesson video uploads one teacher may have arriving at once (per server process) */
  LECTERN_UPLOADS_PER_TEACHER: z.coerce.number().int().min(1).max(50).default(2),
  // Mail and accounts
  /** smtp://user:pass@host:587 or smtps://…:465; unset means messages are printed to the log instead */
  LECTERN_SMTP_URL: z
    .string()
    .optional()
    .refine((s) => !s || /^smtps?:\/\//.test(s), { message: 'must start with smtp:// or smtps://' }),
  /** Sender of every message, e.g. "Lectern <no-reply@school.example>" */
  LECTERN_MAIL_FROM: z.string().min(3).default('Lectern <no-reply@localhost>'),
  /** Delay before the first retry of a message the SMTP server did not take; doubles up to an hour */
  LECTERN_MAIL_RETRY_SECONDS: z.coerce.number().min(1).default(30),
  /** A message still not sent this many hours after it was queued is given up (marked failed) */
  LECTERN_MAIL_GIVE_UP_HOURS: z.coerce.number().min(1).default(48),
  /** Unverified accounts may log in but not enroll or teach */
  LECTERN_REQUIRE_VERIFIED_EMAIL: bool.default(true),
  /** Addresses one invitation request may carry, and invitations one teacher may send per day */
  LECTERN_INVITES_PER_REQUEST: z.coerce.number().int().min(1).max(1000).default(50),
  LECTERN_INVITES_PER_DAY: z.coerce.number().int().min(1).default(300),
  /** Enrolled students get "starts in N minutes" this long before a scheduled class */
  LECTERN_REMINDER_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .default(15),
});

export type Env = z.input<typeof EnvSchema>;

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  origin: string | undefined;
  logLevel: string;
  databaseUrl: string | undefined;
  dataDir: string;
  redisUrl: string | undefined;
  redisPrefix: string;
  /** With REDIS_URL: this process as one node of a cluster (class media piped from the node where it is published). */
  cluster: { nodeName: string; pipeIp: string };
  secureCookies: boolean;
  sessionDays: number;
  sessionPurgeSeconds: number;
  trustProxy: boolean;
  registrationsPerHour: number;
  mediaSecret: string | undefined;
  /** How other nodes reach this one; undefined: derived from the address it listens on. */
  nodeUrl: string | undefined;
  /** The S3-compatible store for replays and lesson videos; undefined: the data directory only. */
  objectStorage: S3StoreOptions | undefined;
  metricsToken: string | undefined;
  media: {
    workerBin: string | undefined;
    workers: number;
    listenIp: string;
    announcedIps: string[];
    rtcPort: number;
    rtcMinPort: number;
    rtcMaxPort: number;
    iceServers: IceServer[];
    /** coturn with time-limited credentials (TURN REST API), when configured. */
    turn: TurnOptions | undefined;
    cameraLayers: number;
    /** Per-class cap on WebRTC students (unset: only the workers' capacity limits them). */
    maxWebRtcViewers: number | undefined;
    consumersPerWorker: number;
    teacherGraceSeconds: number;
    interruptedEndMinutes: number;
  };
  ffmpegPath: string;
  ffprobePath: string;
  maxUploadBytes: number;
  uploadsPerTeacher: number;
  mail: {
    smtpUrl: string | undefined;
    from: string;
    retrySeconds: number;
    giveUpHours: number;
  };
  accounts: {
    requireVerifiedEmail: boolean;
    invitesPerRequest: number;
    invitesPerDay: number;
    reminderMinutes: number;
  };
}

/** Parses the environment (or overrides, for tests) into a Config; throws one readable error listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  const workers = e.LECTERN_WORKERS ?? Math.max(1, os.availableParallelism());
  if (e.LECTERN_RTC_MIN_PORT > e.LECTERN_RTC_MAX_PORT)
    throw new ConfigError(`LECTERN_RTC_MIN_PORT (${e.LECTERN_RTC_MIN_PORT}) is above LECTERN_RTC_MAX_PORT (${e.LECTERN_RTC_MAX_PORT})`);
  if (e.LECTERN_RTC_PORT && e.LECTERN_RTC_PORT + workers - 1 > 65535)
    throw new ConfigError(`LECTERN_RTC_PORT ${e.LECTERN_RTC_PORT} leaves no port for ${workers} workers (worker i uses port + i)`);
  const turnUrls = (e.LECTERN_TURN_URLS ?? '')
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  for (const url of turnUrls) {
    if (!/^turns?:[^\s]+$/.test(url))
      throw new ConfigError(`LECTERN_TURN_URLS: "${url}" is not a turn: or turns: URL (e.g. turns:turn.example.org:443?transport=tcp)`);
  }
  if (turnUrls.length > 0 && !e.LECTERN_TURN_SECRET)
    throw new ConfigError("LECTERN_TURN_URLS is set but LECTERN_TURN_SECRET is not: set it to coturn's static-auth-secret");
  if (turnUrls.length === 0 && e.LECTERN_TURN_SECRET)
    throw new ConfigError('LECTERN_TURN_SECRET is set but LECTERN_TURN_URLS is not: list the TURN server URLs');
  if (e.LECTERN_TURN_SECRET && e.LECTERN_TURN_SECRET.length < 16)
    throw new ConfigError('LECTERN_TURN_SECRET is too short: use at least 16 random characters');
  if (!e.LECTERN_S3_BUCKET && (e.LECTERN_S3_ENDPOINT || e.LECTERN_S3_ACCESS_KEY_ID || e.LECTERN_S3_PREFIX))
    throw new ConfigError('LECTERN_S3_* is set but LECTERN_S3_BUCKET is not: name the bucket to keep replays and lesson videos in');
  if (!e.LECTERN_S3_ACCESS_KEY_ID !== !e.LECTERN_S3_SECRET_ACCESS_KEY)
    throw new ConfigError('LECTERN_S3_ACCESS_KEY_ID and LECTERN_S3_SECRET_ACCESS_KEY go together: set both or neither');
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    // Browsers send an origin without a path or trailing slash; the CSRF and socket checks compare with that.
    origin: e.LECTERN_ORIGIN ? new URL(e.LECTERN_ORIGIN).origin : undefined,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL || undefined,
    dataDir: path.resolve(e.LECTERN_DATA_DIR),
    redisUrl: e.REDIS_URL || undefined,
    redisPrefix: e.LECTERN_REDIS_PREFIX,
    cluster: {
      nodeName: e.LECTERN_NODE_NAME ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
      pipeIp: e.LECTERN_PIPE_IP ?? (['0.0.0.0', '::'].includes(e.LECTERN_LISTEN_IP) ? '127.0.0.1' : e.LECTERN_LISTEN_IP),
    },
    secureCookies: e.LECTERN_SECURE_COOKIES ?? e.LECTERN_ORIGIN?.startsWith('https:') ?? false,
    sessionDays: e.SESSION_DAYS,
    sessionPurgeSeconds: e.LECTERN_SESSION_PURGE_SECONDS,
    trustProxy: e.LECTERN_TRUST_PROXY,
    registrationsPerHour: e.LECTERN_REGISTRATIONS_PER_HOUR,
    mediaSecret: e.LECTERN_MEDIA_SECRET,
    nodeUrl: e.LECTERN_NODE_URL?.replace(/\/+$/, ''),
    objectStorage: e.LECTERN_S3_BUCKET
      ? {
          bucket: e.LECTERN_S3_BUCKET,
          endpoint: e.LECTERN_S3_ENDPOINT,
          region: e.LECTERN_S3_REGION,
          accessKeyId: e.LECTERN_S3_ACCESS_KEY_ID,
          secretAccessKey: e.LECTERN_S3_SECRET_ACCESS_KEY,
          forcePathStyle: e.LECTERN_S3_FORCE_PATH_STYLE ?? !!e.LECTERN_S3_ENDPOINT,
          keyPrefix: e.LECTERN_S3_PREFIX,
        }
      : undefined,
    metricsToken: e.LECTERN_METRICS_TOKEN || undefined,
    media: {
      workerBin: e.MEDIASOUP_WORKER_BIN,
      workers,
      listenIp: e.LECTERN_LISTEN_IP,
      announcedIps: parseAnnouncedAddresses(e.LECTERN_ANNOUNCED_IP),
      rtcPort: e.LECTERN_RTC_PORT,
      rtcMinPort: e.LECTERN_RTC_MIN_PORT,
      rtcMaxPort: e.LECTERN_RTC_MAX_PORT,
      iceServers: e.LECTERN_ICE_SERVERS,
      turn: turnUrls.length > 0 ? { urls: turnUrls, secret: e.LECTERN_TURN_SECRET!, ttlSeconds: e.LECTERN_TURN_TTL_SECONDS } : undefined,
      cameraLayers: e.LECTERN_CAMERA_LAYERS,
      maxWebRtcViewers: e.LECTERN_MAX_WEBRTC_VIEWERS,
      consumersPerWorker: e.LECTERN_CONSUMERS_PER_WORKER,
      teacherGraceSeconds: e.LECTERN_TEACHER_GRACE_SECONDS,
      interruptedEndMinutes: e.LECTERN_INTERRUPTED_END_MINUTES,
    },
    ffmpegPath: e.FFMPEG_PATH,
    ffprobePath: e.FFPROBE_PATH,
    maxUploadBytes: e.LECTERN_MAX_UPLOAD_BYTES,
    uploadsPerTeacher: e.LECTERN_UPLOADS_PER_TEACHER,
    mail: {
      smtpUrl: e.LECTERN_SMTP_URL || undefined,
      from: e.LECTERN_MAIL_FROM,
      retrySeconds: e.LECTERN_MAIL_RETRY_SECONDS,
      giveUpHours: e.LECTERN_MAIL_GIVE_UP_HOURS,
    },
    accounts: {
      requireVerifiedEmail: e.LECTERN_REQUIRE_VERIFIED_EMAIL,
      invitesPerRequest: e.LECTERN_INVITES_PER_REQUEST,
      invitesPerDay: e.LECTERN_INVITES_PER_DAY,
      reminderMinutes: e.LECTERN_REMINDER_MINUTES,
    },
  };
}
