// What the admin view shows besides accounts: the classes live now with their viewers (through every node of a
// cluster) and the health of their
// media (this process's last collected figures), and the recordings and transcodes that failed lately.
import { and, desc, eq, gt } from 'drizzle-orm';
import type { AdminFailure, AdminLiveClass } from '../contracts/admin.ts';
import type { PresenceViewer } from '../contracts/live-class.ts';
import type { Database } from '../db/client.ts';
import { courses, lessons, liveClasses, recordings, transcodeJobs, users } from '../db/schema.ts';
import type { LiveStatus } from '../hls/live-hls.ts';
import type { HlsBridge } from '../hls/hls-bridge.ts';
import type { ClassMediaSummary } from '../sfu/connection-quality.ts';

/** Failures older than this are not "recent". */
export const FAILURE_WINDOW_DAYS = 30;
export const MAX_FAILURES = 50;

export interface AdminOverviewOptions {
  db: Database;
  viewers: (classId: string) => PresenceViewer[] | undefined;
  /** In a cluster: the class's students by mode through every node (else counted from this process's `viewers`). */
  studentModes?: ((classId: string) => Promise<Record<PresenceViewer['mode'], number>>) | undefined;
  figures: (classId: string) => { ingressBitsPerSecond?: number; delivery?: ClassMediaSummary } | undefined;
  hlsStatus: (classId: string) => LiveStatus;
  bridge: (classId: string) => HlsBridge | undefined;
}

export class AdminOverview {
  readonly #o: AdminOverviewOptions;

  constructor(options: AdminOverviewOptions) {
    this.#o = options;
  }

  async liveClasses(): Promise<AdminLiveClass[]> {
    const rows = await this.#o.db
      .select({
        classId: liveClasses.id,
        title: liveClasses.title,
        courseTitle: courses.title,
        teacher: users.displayName,
        startedAt: liveClasses.startedAt,
      })
      .from(liveClasses)
      .innerJoin(courses, eq(courses.id, liveClasses.courseId))
      .innerJoin(users, eq(users.id, liveClasses.teacherId))
      .where(eq(liveClasses.status, 'live'))
      .orderBy(desc(liveClasses.startedAt));
    return Promise.all(
      rows.map(async (r) => {
        const viewers = this.#o.studentModes ? await this.#o.studentModes(r.classId) : this.#localModes(r.classId);
        const figures = this.#o.figures(r.classId);
        const bridge = this.#o.bridge(r.classId);
        return {
          classId: r.classId,
          title: r.title,
          courseTitle: r.courseTitle,
          teacher: r.teacher,
          startedAt: r.startedAt?.toISOString() ?? null,
          viewers,
          ingressBitsPerSecond: figures?.ingressBitsPerSecond ?? null,
          egressBitsPerSecond: figures?.delivery?.egressBitsPerSecond ?? null,
          lossRatio: figures?.delivery?.lossRatio ?? null,
          rttSeconds: figures?.delivery?.rttSeconds ?? null,
          hls: {
            state: this.#o.hlsStatus(r.classId),
            ffmpegRunning: bridge?.ffmpegPid !== undefined,
            speed: bridge?.ffmpegSpeed ?? null,
            restarts: bridge?.restarts ?? 0,
          },
        };
      }),
    );
  }

  #localModes(classId: string): Record<PresenceViewer['mode'], number> {
    const students = (this.#o.viewers(classId) ?? []).filter((v) => v.role === 'student');
    return {
      webrtc: students.filter((v) => v.mode === 'webrtc').length,
      hls: students.filter((v) => v.mode === 'hls').length,
      waiting: students.filter((v) => v.mode === 'waiting').length,
    };
  }

  /** Failed recordings and transcodes of the last FAILURE_WINDOW_DAYS, newest first, with their reasons. */
  async recentFailures(now = new Date()): Promise<AdminFailure[]> {
    const since = new Date(now.getTime() - FAILURE_WINDOW_DAYS * 86_400_000);
    const [failedRecordings, failedTranscodes] = await Promise.all([
      this.#o.db
        .select({ id: recordings.id, title: liveClasses.title, reason: recordings.error, at: recordings.createdAt })
        .from(recordings)
        .innerJoin(liveClasses, eq(liveClasses.id, recordings.classId))
        .where(and(eq(recordings.status, 'failed'), gt(recordings.createdAt, since)))
        .orderBy(desc(recordings.createdAt))
        .limit(MAX_FAILURES),
      this.#o.db
        .select({
          id: transcodeJobs.id,
          title: lessons.title,
          reason: transcodeJobs.error,
          at: transcodeJobs.finishedAt,
          created: transcodeJobs.createdAt,
        })
        .from(transcodeJobs)
        .innerJoin(lessons, eq(lessons.id, transcodeJobs.lessonId))
        .where(and(eq(transcodeJobs.status, 'failed'), gt(transcodeJobs.createdAt, since)))
        .orderBy(desc(transcodeJobs.createdAt))
        .limit(MAX_FAILURES),
    ]);
    const failures: AdminFailure[] = [
      ...failedRecordings.map((r) => ({
        kind: 'recording' as const,
        id: r.id,
        title: r.title,
        reason: r.reason ?? 'Unknown',
        at: r.at.toISOString(),
      })),
      ...failedTranscodes.map((t) => ({
        kind: 'transcode' as const,
        id: t.id,
        title: t.title,
        reason: t.reason ?? 'Unknown',
        at: (t.at ?? t.created).toISOString(),
      })),
    ];
    return failures.sort((a, b) => b.at.localeCompare(a.at)).slice(0, MAX_FAILURES);
  }
}
