// Deleting what has media behind it: a lesson's video, a lesson or a whole course while its upload is being
// transcoded stops that ffmpeg (the process is gone by the time the deletion answers) and leaves no file of it
// (source, scratch output, lesson directory); deleting a course removes its recordings' rows and files.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lessons, liveClasses, recordings, transcodeJobs } from '../../server/db/schema.ts';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { insertClass } from '../helpers/live-class.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let teacher: RegisteredUser;
let tmp: string;
/** A video long enough that its transcode is still running when the test deletes it. */
let longVideo: Buffer;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-delete-'));
  const file = path.join(tmp, 'long.mp4');
  execFileSync('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=640x360:rate=25:duration=60',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:duration=60',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-crf',
    '40',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    file,
  ]);
  longVideo = fs.readFileSync(file);
  server = await startTestServer();
  teacher = await registerUser(server.url, 'teacher');
});
afterAll(async () => {
  await server?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function newCourse(title: string): Promise<string> {
  return (await teacher.client.post('/api/courses', { title })).body.course.id;
}

async function newLesson(courseId: string, title: string): Promise<string> {
  return (await teacher.client.post(`/api/courses/${courseId}/lessons`, { title })).body.lesson.id;
}

/** A DELETE as the app sends it from the browser (which adds the page's Origin). */
function remove(path: string) {
  return teacher.client.request('DELETE', path, undefined, { origin: server.url });
}

async function upload(lessonId: string): Promise<number> {
  const res = await fetch(`${server.url}/api/lessons/${lessonId}/video`, {
    method: 'PUT',
    headers: {
      cookie: teacher.client.cookieHeader,
      'content-type': 'application/octet-stream',
      'x-file-name': encodeURIComponent('lecture.mp4'),
      origin: server.url,
    },
    body: new Uint8Array(longVideo),
  });
  await res.body?.cancel();
  return res.status;
}

/** The pids of processes whose command line mentions `text` (read from /proc, as `ps` does). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    if (cmdline.startsWith('ffmpeg') || cmdline.includes('/ffmpeg\0')) if (cmdline.includes(text)) pids.push(Number(entry));
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(server.dataDir, path.join(d.parentPath, d.name)));
}

const lessonDir = (lessonId: string) => path.join(server.dataDir, 'lessons', lessonId);
const sources = () => filesUnder(path.join(server.dataDir, 'uploads'));

/** Uploads the long video and waits until its ffmpeg is running and writing; returns that ffmpeg's pid. */
async function transcodeUnderWay(lessonId: string): Promise<number> {
  expect(await upload(lessonId)).toBe(202);
  let pid = 0;
  await expect
    .poll(
      () => {
        [pid = 0] = processesMentioning(path.join('lessons', lessonId));
        return pid > 0 && filesUnder(lessonDir(lessonId)).some((f) => f.endsWith('.ts'));
      },
      { timeout: 30_000, interval: 100 },
    )
    .toBe(true);
  expect((await server.transcodes.latestJob(lessonId))?.status).toBe('running');
  expect(sources()).toHaveLength(1);
  return pid;
}

describe('deleting lesson media', () => {
  it('deleting a lesson video while it transcodes stops ffmpeg, leaves no file, and the lesson takes a new upload', async () => {
    const courseId = await newCourse('Video, deleted');
    const lessonId = await newLesson(courseId, 'Transcoding');
    const pid = await transcodeUnderWay(lessonId);

    const res = await remove(`/api/lessons/${lessonId}/video`);
    expect(res.status).toBe(200);
    expect(alive(pid)).toBe(false);
    expect(fs.existsSync(lessonDir(lessonId))).toBe(false);
    expect(sources()).toEqual([]);
    expect(await server.db.select().from(transcodeJobs).where(eq(transcodeJobs.lessonId, lessonId))).toEqual([]);
    const [lesson] = await server.db.select().from(lessons).where(eq(lessons.id, lessonId));
    expect(lesson).toMatchObject({ videoStatus: 'none', videoPath: null });

    // Not left "busy": a new upload is taken and transcodes (then it is deleted too, as it runs).
    const again = await transcodeUnderWay(lessonId);
    expect(again).not.toBe(pid);
    expect((await remove(`/api/lessons/${lessonId}/video`)).status).toBe(200);
    expect(alive(again)).toBe(false);
    expect(fs.existsSync(lessonDir(lessonId))).toBe(false);
  });

  it('deleting a lesson while its video transcodes stops ffmpeg and leaves no file', async () => {
    const courseId = await newCourse('Lesson, deleted');
    const lessonId = await newLesson(courseId, 'Transcoding');
    const pid = await transcodeUnderWay(lessonId);

    expect((await remove(`/api/lessons/${lessonId}`)).status).toBe(200);
    expect(alive(pid)).toBe(false);
    expect(fs.existsSync(lessonDir(lessonId))).toBe(false);
    expect(sources()).toEqual([]);
    expect(await server.db.select().from(lessons).where(eq(lessons.id, lessonId))).toEqual([]);
    expect(await server.db.select().from(transcodeJobs).where(eq(transcodeJobs.lessonId, lessonId))).toEqual([]);
  });

  it('deleting a course stops its running and queued transcodes and removes its recordings, rows and files', async () => {
    const courseId = await newCourse('Course, deleted');
    const running = await newLesson(courseId, 'Transcoding');
    const queued = await newLesson(courseId, 'Waiting its turn');
    const pid = await transcodeUnderWay(running);
    // One transcode at a time: the second upload waits in the queue.
    expect(await upload(queued)).toBe(202);
    expect((await server.transcodes.latestJob(queued))?.status).toBe('queued');
    expect(sources()).toHaveLength(2);

    // A class of the course that was recorded: its recording's row and files (begun as the HLS bridge does).
    const { classId } = await insertClass(server.db, {
      teacherId: teacher.user.id,
      studentIds: [],
      title: 'Recorded class',
      courseTitle: 'unused',
      live: true,
    });
    await server.db.update(liveClasses).set({ courseId }).where(eq(liveClasses.id, classId));
    const { recordingId } = await server.recordings.begin(classId);
    const recordingDir = path.join(server.dataDir, 'recordings', recordingId);
    fs.writeFileSync(path.join(recordingDir, 'run-0-00000.ts'), Buffer.alloc(1000));
    expect(filesUnder(recordingDir).length).toBeGreaterThan(1);

    // While the class is on air, the course is not deleted (its recording is being written) ...
    const refused = await remove(`/api/courses/${courseId}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('class_live');
    expect(alive(pid)).toBe(true);
    // ... once it has ended, it is.
    await server.db.update(liveClasses).set({ status: 'ended', endedAt: new Date() }).where(eq(liveClasses.id, classId));
    expect((await remove(`/api/courses/${courseId}`)).status).toBe(200);
    expect(alive(pid)).toBe(false);
    for (const lessonId of [running, queued]) expect(fs.existsSync(lessonDir(lessonId))).toBe(false);
    expect(sources()).toEqual([]);
    expect(fs.existsSync(recordingDir)).toBe(false);
    expect(await server.db.select().from(recordings).where(eq(recordings.id, recordingId))).toEqual([]);
    expect(await server.db.select().from(transcodeJobs).where(eq(transcodeJobs.lessonId, queued))).toEqual([]);
    expect(filesUnder(path.join(server.dataDir, 'lessons'))).toEqual([]);

    // The queue goes on with other work, and the deleted course's queued job was never started (it would
    // have run before this one).
    const otherCourse = await newCourse('Another course');
    const other = await newLesson(otherCourse, 'Next in the queue');
    const otherPid = await transcodeUnderWay(other);
    expect(processesMentioning(path.join('lessons', queued))).toEqual([]);
    expect(fs.existsSync(lessonDir(queued))).toBe(false);
    expect((await remove(`/api/courses/${otherCourse}`)).status).toBe(200);
    expect(alive(otherPid)).toBe(false);
  });
});
