// Retention: the teacher or an admin deletes a replay and nothing of it is left (its directory, its row, the
// notice kept about it, its mail not sent yet), others may not; deleting a course takes its replays' files
// too; and the course's storage counts what its replays and lessons take on disk, file by file.
import fs from 'node:fs';
import path from 'node:path';
import { eq, like } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveClasses, mailOutbox, noticeFanouts, recordings, type Recording } from '../../server/db/schema.ts';
import type { CourseStorageView } from '../../server/contracts/courses.ts';
import type { RegisteredUser } from '../helpers/http-client.ts';
import { registerPeople, type People } from '../helpers/people.ts';
import { recordClass } from '../helpers/recorded-class.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Every file under `dir`, with its size, as the test sees the disk. */
function filesUnder(dir: string): { file: string; bytes: number }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const file = path.join(e.parentPath, e.name);
      return { file, bytes: fs.statSync(file).size };
    });
}
const bytesUnder = (dir: string) => filesUnder(dir).reduce((sum, f) => sum + f.bytes, 0);

describe('replay retention and course storage', () => {
  let server: TestServer;
  let people: People;
  let courseId: string;
  let lessonId: string;
  const dirOf = (r: Recording) => path.dirname(path.join(server.dataDir, r.playlistPath));
  const addClass = async (title: string) => {
    const [row] = await server.db
      .insert(liveClasses)
      .values({
        courseId,
        lessonId,
        teacherId: people.teacher.user.id,
        title,
        scheduledAt: new Date(Date.now() - 3600_000),
        status: 'ended',
      })
      .returning();
    return row!.id;
  };
  // As the page sends it: from the server's own origin (the API refuses cross-site writes).
  const del = (who: RegisteredUser, path: string) => who.client.request('DELETE', path, undefined, { origin: server.url });
  const traces = async (id: string) => ({
    rows: (await server.db.select().from(recordings).where(eq(recordings.id, id))).length,
    fanouts: (
      await server.db
        .select()
        .from(noticeFanouts)
        .where(eq(noticeFanouts.subject, `replay_ready:${id}`))
    ).length,
    mail: (
      await server.db
        .select()
        .from(mailOutbox)
        .where(like(mailOutbox.dedupeKey, `replay_ready:${id}:%`))
    ).length,
  });

  beforeAll(async () => {
    server = await startTestServer();
    people = await registerPeople(server);
    const { teacher, student } = people;
    courseId = (await teacher.client.post('/api/courses', { title: 'Kept and deleted' })).body.course.id;
    lessonId = (await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Optics' })).body.lesson.id;
    expect((await teacher.client.patch(`/api/courses/${courseId}`, { published: true })).status).toBe(200);
    expect((await student.client.post(`/api/courses/${courseId}/enrollment`)).status).toBe(201);
  });
  afterAll(() => server?.stop());

  it('lets the teacher and an admin delete a replay, leaving no file or row behind; nobody else', async () => {
    const { teacher, student, outsider, otherTeacher, admin } = people;
    const first = await recordClass(server, await addClass('Lenses, live'));
    const second = await recordClass(server, await addClass('Mirrors, live'));
    // The "replay is ready" notice went out to the enrolled student: a fan-out row and queued mail exist.
    await server.notices.scan();
    expect(await traces(first.id)).toMatchObject({ rows: 1, fanouts: 1 });
    expect((await traces(first.id)).mail).toBeGreaterThan(0);
    expect(filesUnder(dirOf(first)).some((f) => f.file.endsWith('.ts') || f.file.endsWith('.m4s'))).toBe(true);
    // Its MP4 download was made beside it, and goes with it.
    expect(first.downloadStatus).toBe('ready');
    expect(filesUnder(dirOf(first)).some((f) => f.file.endsWith('/download.mp4'))).toBe(true);

    // The course's storage: every file of each replay, as on disk.
    const storage = (await teacher.client.get(`/api/courses/${courseId}/storage`)).body as CourseStorageView;
    expect(storage.replays.items.map((i) => [i.id, i.bytes]).sort()).toEqual(
      [
        [first.id, bytesUnder(dirOf(first))],
        [second.id, bytesUnder(dirOf(second))],
      ].sort(),
    );
    expect(storage.replays.bytes).toBe(bytesUnder(dirOf(first)) + bytesUnder(dirOf(second)));
    expect(storage.replays.bytes).toBeGreaterThan(10_000);
    expect(storage.totalBytes).toBe(storage.replays.bytes + storage.lessons.bytes);
    expect((await student.client.get(`/api/courses/${courseId}/storage`)).status).toBe(403);

    // Students, outsiders and other teachers may not delete it.
    for (const who of [student, outsider, otherTeacher]) expect((await del(who, `/api/media/recordings/${first.id}`)).status).toBe(403);
    expect(await traces(first.id)).toMatchObject({ rows: 1 });

    // A signed link handed out before the deletion, to check it stops working.
    const view = (await student.client.get(`/api/media/recordings/${first.id}`)).body;
    expect((await fetch(`${server.url}${view.recording.playlistUrl}`)).status).toBe(200);

    expect((await del(teacher, `/api/media/recordings/${first.id}`)).status).toBe(200);
    expect(fs.existsSync(dirOf(first))).toBe(false);
    expect(await traces(first.id)).toEqual({ rows: 0, fanouts: 0, mail: 0 });
    expect((await fetch(`${server.url}${view.recording.playlistUrl}`)).status).toBe(404);
    expect((await student.client.get(`/api/media/recordings/${first.id}`)).status).toBe(404);
    expect((await del(teacher, `/api/media/recordings/${first.id}`)).status).toBe(404);
    const page = (await student.client.get(`/api/courses/${courseId}`)).body;
    expect(page.replays.map((r: { id: string }) => r.id)).toEqual([second.id]);
    const after = (await teacher.client.get(`/api/courses/${courseId}/storage`)).body as CourseStorageView;
    expect(after.replays.items.map((i) => i.id)).toEqual([second.id]);
    expect(after.replays.bytes).toBe(bytesUnder(dirOf(second)));

    // An admin may delete any replay; the other one's files were never touched.
    expect((await del(admin, `/api/media/recordings/${second.id}`)).status).toBe(200);
    expect(fs.existsSync(dirOf(second))).toBe(false);
    expect(await traces(second.id)).toEqual({ rows: 0, fanouts: 0, mail: 0 });
    expect(filesUnder(path.join(server.dataDir, 'recordings'))).toEqual([]);
  });

  it('refuses to delete a recording still being made, and deleting the course takes its replays’ files', async () => {
    const { teacher } = people;
    const { recordingId } = await server.recordings.begin(await addClass('Prisms, live'));
    const recording = (await server.recordings.byId(recordingId))!;
    const refused = await del(teacher, `/api/media/recordings/${recordingId}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('invalid_state');
    expect(fs.existsSync(dirOf(recording))).toBe(true);
    await server.recordings.finalise(recordingId); // nothing was recorded: it fails, files stay until deleted

    const kept = await recordClass(server, await addClass('Fibres, live'));
    expect(bytesUnder(dirOf(kept))).toBeGreaterThan(0);
    expect((await del(teacher, `/api/courses/${courseId}`)).status).toBe(200);
    expect(fs.existsSync(dirOf(kept))).toBe(false);
    expect(fs.existsSync(dirOf(recording))).toBe(false);
    expect(await traces(kept.id)).toMatchObject({ rows: 0 });
  });
});
