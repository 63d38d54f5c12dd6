// What the server is made of, built once in main.ts and handed to the HTTP routes, socket handlers and the
// SvelteKit hooks (through a process-wide slot, because adapter-node bundles the app separately).
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import type { DatabaseHandle, Database } from './db/client.ts';
import type { SessionStore } from './auth/session-store.ts';
import type { Accounts } from './auth/accounts.ts';
import type { Permissions } from './auth/permissions.ts';
import type { RateLimiter } from './auth/rate-limiter.ts';
import type { WorkerPool } from './sfu/worker-pool.ts';
import type { FfmpegInfo } from './hls/ffmpeg-info.ts';
import type { ClassCatalog } from './classes/class-catalog.ts';
import type { CourseCatalog } from './courses/course-catalog.ts';
import type { ClassSchedule } from './courses/class-schedule.ts';
import type { LessonProgress } from './courses/lesson-progress.ts';
import type { LearningAnalytics } from './courses/learning-analytics.ts';
import type { TranscodeQueue } from './uploads/transcode-queue.ts';
import type { LessonMedia } from './uploads/lesson-media.ts';
import type { Interaction } from './interaction/interaction.ts';
import type { RoomRegistry } from './sfu/room-registry.ts';
import type { LiveClassLifecycle } from './classes/live-class-lifecycle.ts';
import type { HlsService } from './hls/hls-service.ts';

export interface Services {
  config: Config;
  log: Logger;
  database: DatabaseHandle;
  db: Database;
  sessions: SessionStore;
  accounts: Accounts;
  permissions: Permissions;
  loginLimiter: RateLimiter;
  registrationLimiter: RateLimiter;
  workers: WorkerPool;
  ffmpeg: FfmpegInfo;
  classes: ClassCatalog;
  /** Courses, lessons, catalog search, enrollment. */
  courses: CourseCatalog;
  /** Scheduling live classes and "My schedule". */
  schedule: ClassSchedule;
  progress: LessonProgress;
  analytics: LearningAnalytics;
  /** Background transcodes of uploaded lesson videos. */
  transcodes: TranscodeQueue;
  /** Signs and checks uploaded lessons' media URLs (/media/lessons/...). */
  lessonMedia: LessonMedia;
  /** Chat, Q&A, polls, raised hands, moderation and flood control of live classes. */
  interaction: Interaction;
  /** The live classes' SFU rooms in this process (HLS bridge listens to roomopen/roomclose). */
  rooms: RoomRegistry;
  /** Go live / end, presence, attendance, viewer counts, teacher grace period, stage. */
  liveClasses: LiveClassLifecycle;
  /** HLS bridges of live classes, recordings, signed media URLs. */
  hls: HlsService;
}

const slot = Symbol.for('lectern.services');

export function publishServices(services: Services | undefined): void {
  (globalThis as Record<symbol, unknown>)[slot] = services;
}

export function currentServices(): Services {
  const services = (globalThis as Record<symbol, unknown>)[slot] as Services | undefined;
  if (!services) throw new Error('Lectern services are not running in this process (start with npm start / npm run dev)');
  return services;
}
