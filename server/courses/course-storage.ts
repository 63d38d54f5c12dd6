// What a course's media takes in storage, measured on the files themselves (not the sizes rows remember), on
// this machine and in the object store: its replays (every file of each recording: playlists, segments,
// thumbnail, captions, downloads) and its lessons' uploaded videos (the transcoded set, scratch runs and a
// source still waiting to be transcoded).
import fs from 'node:fs/promises';
import path from 'node:path';
import { asc, desc, eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { lessons, liveClasses, recordings } from '../db/schema.ts';
import type { CourseStorageView } from '../contracts/courses.ts';
import type { Recordings } from '../hls/recordings.ts';
import type { LessonVideos } from '../uploads/lesson-videos.ts';

export interface CourseStorageOptions {
  db: Database;
  dataDir: string;
  recordings: Pick<Recordings, 'diskUsage'>;
  videos: Pick<LessonVideos, 'storedBytes'>;
}

/** Where uploads wait for their transcode, named `<lessonId>-<upload>.<ext>` (lesson-videos.ts). */
const SOURCES_DIR = path.join('uploads', 'sources');

export class CourseStorage {
  readonly #o: CourseStorageOptions;

  constructor(options: CourseStorageOptions) {
    this.#o = options;
  }

  async ofCourse(courseId: string): Promise<CourseStorageView> {
    const db = this.#o.db;
    const [replayRows, lessonRows, sources] = await Promise.all([
      db
        .select({ recording: recordings, title: liveClasses.title })
        .from(recordings)
        .innerJoin(liveClasses, eq(liveClasses.id, recordings.classId))
        .where(eq(liveClasses.courseId, courseId))
        .orderBy(desc(recordings.createdAt)),
      db
        .select({ id: lessons.id, title: lessons.title })
        .from(lessons)
        .where(eq(lessons.courseId, courseId))
        .orderBy(asc(lessons.position)),
      this.#sources(),
    ]);
    const replaySizes = await this.#o.recordings.diskUsage(replayRows.map((r) => r.recording));
    const replayItems = replayRows.map((r) => ({
      id: r.recording.id,
      title: r.title,
      status: r.recording.status,
      bytes: replaySizes.get(r.recording.id) ?? 0,
    }));
    const lessonItems = await Promise.all(
      lessonRows.map(async (l) => {
        const waiting = sources.filter((s) => s.name.startsWith(`${l.id}-`)).reduce((sum, s) => sum + s.bytes, 0);
        return { id: l.id, title: l.title, bytes: (await this.#o.videos.storedBytes(l.id)) + waiting };
      }),
    );
    const sum = (items: { bytes: number }[]) => items.reduce((a, b) => a + b.bytes, 0);
    const replays = { bytes: sum(replayItems), items: replayItems };
    const lessonsUsage = { bytes: sum(lessonItems), items: lessonItems };
    return { courseId, totalBytes: replays.bytes + lessonsUsage.bytes, replays, lessons: lessonsUsage };
  }

  async #sources(): Promise<{ name: string; bytes: number }[]> {
    const dir = path.join(this.#o.dataDir, SOURCES_DIR);
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    return Promise.all(names.map(async (name) => ({ name, bytes: (await fs.stat(path.join(dir, name)).catch(() => null))?.size ?? 0 })));
  }
}
