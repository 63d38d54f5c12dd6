// Lesson video uploads against the real server: a lesson is reserved before its body is read, so a second
// upload for it is refused while the first is still arriving (and two sent at once never both get queued);
// a teacher has at most two uploads arriving at once (429 with a clear message); a failed or abandoned
// upload gives the lesson back and leaves nothing behind. Across processes, the lock in enqueue() keeps two
// queues from both queueing a video for one lesson.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lessons, transcodeJobs } from '../../server/db/schema.ts';
import { TranscodeQueue } from '../../server/uploads/transcode-queue.ts';
import { LessonVideos } from '../../server/uploads/lesson-videos.ts';
import { UploadRefused } from '../../server/uploads/upload-reservations.ts';
import { dbKinds } from '../helpers/databases.ts';
import type { RegisteredUser } from '../helpers/http-client.ts';
import { registerPeople, type People } from '../helpers/people.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

type Reply = { status: number; body: any };

/** Silent on purpose: a silent upload gets a silent track bounded by its length, so its transcode ends. */
function makeVideo(dir: string): Buffer {
  const out = path.join(dir, 'clip.mp4');
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=160x120:rate=15:duration=1',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-crf',
    '40',
    '-pix_fmt',
    'yuv420p',
    out,
  ]);
  return fs.readFileSync(out);
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
}

describe('lesson video upload reservations', () => {
  let server: TestServer;
  let people: People;
  let tmp: string;
  let clip: Buffer;
  let courseId: string;
  /** Starts with an mp4's first bytes, then garbage: ffprobe refuses it (422) once it has fully arrived. */
  let corrupt: Buffer;
  const open: AbortController[] = [];

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-reserve-'));
    clip = makeVideo(tmp);
    corrupt = Buffer.concat([clip.subarray(0, 64), Buffer.alloc(20_000, 0x5a)]);
    server = await startTestServer();
    people = await registerPeople(server);
    courseId = (await people.teacher.client.post('/api/courses', { title: 'Upload course' })).body.course.id;
  });
  afterAll(async () => {
    for (const a of open) a.abort();
    await server?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function newLesson(title: string, who: RegisteredUser = people.teacher, course = courseId): Promise<string> {
    return (await who.client.post(`/api/courses/${course}/lessons`, { title })).body.lesson.id;
  }

  function put(who: RegisteredUser, lessonId: string, body: BodyInit, signal?: AbortSignal): Promise<Reply> {
    return fetch(`${server.url}/api/lessons/${lessonId}/video`, {
      method: 'PUT',
      headers: {
        cookie: who.client.cookieHeader,
        'content-type': 'application/octet-stream',
        'x-file-name': 'clip.mp4',
        origin: server.url,
      },
      body,
      duplex: 'half',
      ...(signal ? { signal } : {}),
    } as RequestInit).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  }

  const upload = (who: RegisteredUser, lessonId: string, data: Buffer) => put(who, lessonId, new Uint8Array(data));

  /** An upload whose body arrives in two parts: the first now, the rest on finish(); abort() drops it. */
  function slowUpload(who: RegisteredUser, lessonId: string, data: Buffer) {
    let stream!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        stream = controller;
        controller.enqueue(new Uint8Array(data.subarray(0, 1000)));
      },
    });
    const aborter = new AbortController();
    open.push(aborter);
    const reply = put(who, lessonId, body, aborter.signal);
    reply.catch(() => {}); // an aborted upload rejects; the tests that abort do not await it
    return {
      reply,
      finish() {
        stream.enqueue(new Uint8Array(data.subarray(1000)));
        stream.close();
        return reply;
      },
      abort: () => aborter.abort(),
    };
  }

  const uploads = () => server.lessonVideos.uploads;
  const jobsOf = (lessonId: string) => server.db.select().from(transcodeJobs).where(eq(transcodeJobs.lessonId, lessonId));

  it('refuses a second upload for a lesson while the first body is still arriving', async () => {
    const lessonId = await newLesson('One at a time');
    const first = slowUpload(people.teacher, lessonId, clip);
    await expect.poll(() => uploads().holds(lessonId)).toBe(true);

    const second = await upload(people.teacher, lessonId, clip);
    expect(second.status).toBe(409);
    expect(second.body.error).toEqual({ code: 'busy', message: 'A video for this lesson is already being uploaded' });

    const done = await first.finish();
    expect(done.status).toBe(202);
    expect(done.body.video.status).toBe('processing');
    expect(uploads().holds(lessonId)).toBe(false);
    expect(await jobsOf(lessonId)).toHaveLength(1);
    // Queued now: the lesson stays busy until its transcode is over, then takes a new video.
    expect((await upload(people.teacher, lessonId, clip)).status).toBe(409);
    await expect.poll(async () => (await jobsOf(lessonId))[0]?.status, { timeout: 30_000, interval: 200 }).toBe('ready');
    expect((await upload(people.teacher, lessonId, corrupt)).status).toBe(422);
  });

  it('queues exactly one of two uploads sent for a lesson at the same moment', async () => {
    const lessonId = await newLesson('Raced');
    const replies = await Promise.all([upload(people.teacher, lessonId, clip), upload(people.teacher, lessonId, clip)]);
    expect(replies.map((r) => r.status).sort()).toEqual([202, 409]);
    expect(await jobsOf(lessonId)).toHaveLength(1);
    await expect.poll(async () => (await jobsOf(lessonId))[0]?.status, { timeout: 30_000, interval: 200 }).toBe('ready');
  });

  it('gives the lesson back after a refused or abandoned upload, leaving nothing behind', async () => {
    const lessonId = await newLesson('Given back');
    expect((await upload(people.teacher, lessonId, corrupt)).status).toBe(422);
    expect(uploads().holds(lessonId)).toBe(false);
    expect(uploads().inProgress(people.teacher.user.id)).toBe(0);

    const abandoned = slowUpload(people.teacher, lessonId, clip);
    await expect.poll(() => filesUnder(server.lessonVideos.incomingDir).length).toBe(1);
    abandoned.abort();
    await expect.poll(() => uploads().holds(lessonId)).toBe(false);
    expect(uploads().inProgress(people.teacher.user.id)).toBe(0);
    expect(filesUnder(path.join(server.dataDir, 'uploads'))).toEqual([]);

    // Not held: the next upload is judged on its own content (422 for garbage, not 409).
    const again = await upload(people.teacher, lessonId, corrupt);
    expect(again.status).toBe(422);
    expect(again.body.error.code).toBe('not_a_video');
    expect(filesUnder(path.join(server.dataDir, 'uploads'))).toEqual([]);
    expect(fs.existsSync(path.join(server.dataDir, 'lessons', lessonId))).toBe(false);
    expect(await jobsOf(lessonId)).toEqual([]);
    const [row] = await server.db.select().from(lessons).where(eq(lessons.id, lessonId));
    expect(row!.videoStatus).toBe('none');
  });

  it('lets one teacher have two uploads arriving at once, refusing a third with 429', async () => {
    const [a, b, c] = [await newLesson('Parallel A'), await newLesson('Parallel B'), await newLesson('Parallel C')];
    const first = slowUpload(people.teacher, a, clip);
    const second = slowUpload(people.teacher, b, clip);
    await expect.poll(() => uploads().inProgress(people.teacher.user.id)).toBe(2);

    const third = await upload(people.teacher, c, clip);
    expect(third.status).toBe(429);
    expect(third.body.error).toEqual({
      code: 'too_many_uploads',
      message: 'You already have 2 uploads in progress; wait for one to finish before starting another',
    });
    expect(await jobsOf(c)).toEqual([]);

    // The limit is per teacher: another teacher uploads meanwhile (and is judged on the file: 422).
    const otherCourse = (await people.otherTeacher.client.post('/api/courses', { title: 'Other course' })).body.course.id;
    const otherLesson = await newLesson('Other lesson', people.otherTeacher, otherCourse);
    expect((await upload(people.otherTeacher, otherLesson, corrupt)).status).toBe(422);

    // One finishes: room for another.
    expect((await first.finish()).status).toBe(202);
    expect(uploads().inProgress(people.teacher.user.id)).toBe(1);
    expect((await upload(people.teacher, c, corrupt)).status).toBe(422);
    second.abort();
    await expect.poll(() => uploads().inProgress(people.teacher.user.id)).toBe(0);
    expect(filesUnder(server.lessonVideos.incomingDir)).toEqual([]);
    await expect.poll(async () => (await jobsOf(a))[0]?.status, { timeout: 30_000, interval: 200 }).toBe('ready');
  });
});

describe.each(await dbKinds())('queueing a lesson video from two processes (%s)', (kind) => {
  let server: TestServer;
  let lessonId: string;

  beforeAll(async () => {
    server = await startTestServer({ db: kind });
    const people = await registerPeople(server);
    const courseId = (await people.teacher.client.post('/api/courses', { title: 'Shared course' })).body.course.id;
    lessonId = (await people.teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Shared lesson' })).body.lesson.id;
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('lets only one of two queues sharing the database queue a video for the lesson', async () => {
    const config = server.config;
    // Two queues on one database, as two server processes have; concurrency 0 keeps both from transcoding.
    const queues = [0, 1].map(
      () =>
        new TranscodeQueue({
          db: server.db,
          dataDir: config.dataDir,
          ffmpegPath: config.ffmpegPath,
          ffprobePath: config.ffprobePath,
          log: server.log,
          concurrency: 0,
        }),
    );
    const videos = queues.map(
      (queue) =>
        new LessonVideos({ db: server.db, dataDir: config.dataDir, queue, storage: server.mediaStorage, access: server.mediaAccess }),
    );
    const incoming = videos.map((v, i) => {
      fs.mkdirSync(v.incomingDir, { recursive: true });
      const file = path.join(v.incomingDir, `race-${i}.part`);
      fs.writeFileSync(file, `upload ${i}`);
      return file;
    });
    const results = await Promise.allSettled(
      videos.map((v, i) => v.accept(lessonId, incoming[i]!, { originalName: `take ${i}.mp4`, sizeBytes: 8, durationSeconds: 1 })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(UploadRefused);
    expect(refused.reason.code).toBe('lesson_busy');
    const jobs = await server.db.select().from(transcodeJobs).where(eq(transcodeJobs.lessonId, lessonId));
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.status).toBe('queued');
    // The refused upload's file is gone; only the queued one's source remains.
    expect(filesUnder(path.join(config.dataDir, 'uploads'))).toEqual([path.join(config.dataDir, jobs[0]!.sourcePath)]);
    await server.lessonVideos.remove(lessonId);
    await Promise.all(queues.map((q) => q.close()));
  });
});
