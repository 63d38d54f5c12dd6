// Courses, lessons, catalog search + pagination, enrollment and lesson progress over real HTTP, on PGlite and
// on the PostgreSQL server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../helpers/databases.ts';
import { HttpClient, type RegisteredUser } from '../helpers/http-client.ts';
import { registerPeople } from '../helpers/people.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

describe.each(await dbKinds())('courses API on %s', (kind) => {
  let server: TestServer;
  let teacher: RegisteredUser, otherTeacher: RegisteredUser, student: RegisteredUser, outsider: RegisteredUser, admin: RegisteredUser;
  let anonymous: HttpClient;

  beforeAll(async () => {
    server = await startTestServer({ db: kind });
    ({ teacher, otherTeacher, student, outsider, admin } = await registerPeople(server));
    anonymous = new HttpClient(server.url);
  });
  afterAll(() => server?.stop());
  /** DELETE with the Origin header a browser sends (the CSRF check wants one on bodiless writes). */
  const del = (client: HttpClient, path: string) => client.request('DELETE', path, undefined, { origin: server.url });

  async function publishedCourse(title: string, description = 'A course', lessonTitles = ['Intro']) {
    const created = await teacher.client.post('/api/courses', { title, description });
    expect(created.status).toBe(201);
    const lessons = [];
    for (const t of lessonTitles)
      lessons.push((await teacher.client.post(`/api/courses/${created.body.course.id}/lessons`, { title: t })).body.lesson);
    expect((await teacher.client.patch(`/api/courses/${created.body.course.id}`, { published: true })).status).toBe(200);
    return { course: created.body.course, lessons };
  }

  it('lets teachers and admins create courses, refuses students and anonymous callers, validates the body', async () => {
    expect((await student.client.post('/api/courses', { title: 'Nope' })).status).toBe(403);
    expect((await anonymous.post('/api/courses', { title: 'Nope' })).status).toBe(401);
    const bad = await teacher.client.post('/api/courses', { title: '', priceCents: -5, currency: 'euro' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_input');
    expect(bad.body.error.issues.map((i: { path: string }) => i.path).sort()).toEqual(['currency', 'priceCents', 'title']);
    const ok = await teacher.client.post('/api/courses', {
      title: 'Watercolour basics',
      description: 'Brushes and paper',
      priceCents: 4900,
      currency: 'usd',
    });
    expect(ok.status).toBe(201);
    expect(ok.body.course).toMatchObject({
      title: 'Watercolour basics',
      priceCents: 4900,
      currency: 'USD',
      published: false,
      teacherId: teacher.user.id,
    });
    expect((await admin.client.post('/api/courses', { title: 'Admin made' })).status).toBe(201);
  });

  it('hides drafts from students and other teachers, shows them to their teacher and admins', async () => {
    const draft = (await teacher.client.post('/api/courses', { title: 'Secret draft' })).body.course;
    expect((await teacher.client.get(`/api/courses/${draft.id}`)).body.role).toBe('teacher');
    expect((await admin.client.get(`/api/courses/${draft.id}`)).body.role).toBe('admin');
    expect((await student.client.get(`/api/courses/${draft.id}`)).status).toBe(404);
    expect((await otherTeacher.client.get(`/api/courses/${draft.id}`)).status).toBe(404);
    expect((await anonymous.get(`/api/courses/${draft.id}`)).status).toBe(404);
    expect((await student.client.get('/api/courses/not-a-uuid')).status).toBe(404);
    const listed = async (c: HttpClient) => (await c.get('/api/courses?q=secret%20draft')).body.items.map((i: { id: string }) => i.id);
    expect(await listed(student.client)).not.toContain(draft.id);
    expect(await listed(teacher.client)).toContain(draft.id);
    expect(await listed(admin.client)).toContain(draft.id);
    expect((await teacher.client.get('/api/courses?scope=teaching')).body.items.map((i: { id: string }) => i.id)).toContain(draft.id);
  });

  it('only the course teacher or an admin may edit; publishing needs a lesson', async () => {
    const course = (await teacher.client.post('/api/courses', { title: 'Edit me' })).body.course;
    expect((await teacher.client.patch(`/api/courses/${course.id}`, { published: true })).body.error.code).toBe('no_lessons');
    expect((await otherTeacher.client.patch(`/api/courses/${course.id}`, { title: 'Hijack' })).status).toBe(404);
    expect((await teacher.client.patch(`/api/courses/${course.id}`, {})).status).toBe(400);
    expect((await teacher.client.post(`/api/courses/${course.id}/lessons`, { title: 'One' })).status).toBe(201);
    expect((await teacher.client.patch(`/api/courses/${course.id}`, { published: true })).body.course.published).toBe(true);
    // Published now: the other teacher sees it but may not change it.
    const hijack = await otherTeacher.client.patch(`/api/courses/${course.id}`, { title: 'Hijack' });
    expect(hijack.status).toBe(403);
    expect((await student.client.patch(`/api/courses/${course.id}`, { title: 'Hijack' })).status).toBe(403);
    expect((await admin.client.patch(`/api/courses/${course.id}`, { title: 'Renamed by admin' })).body.course.title).toBe(
      'Renamed by admin',
    );
    expect((await student.client.post(`/api/courses/${course.id}/lessons`, { title: 'Sneaky' })).status).toBe(403);
  });

  it('adds lessons in order and reorders them; an incomplete order is refused', async () => {
    const course = (await teacher.client.post('/api/courses', { title: 'Ordered' })).body.course;
    const ids: string[] = [];
    for (const t of ['A', 'B', 'C'])
      ids.push((await teacher.client.post(`/api/courses/${course.id}/lessons`, { title: t })).body.lesson.id);
    const reordered = await teacher.client.request('PUT', `/api/courses/${course.id}/lesson-order`, {
      lessonIds: [ids[2], ids[0], ids[1]],
    });
    expect(reordered.status).toBe(200);
    expect(reordered.body.lessons.map((l: { title: string }) => l.title)).toEqual(['C', 'A', 'B']);
    const detail = await teacher.client.get(`/api/courses/${course.id}`);
    expect(detail.body.lessons.map((l: { title: string }) => l.title)).toEqual(['C', 'A', 'B']);
    const partial = await teacher.client.request('PUT', `/api/courses/${course.id}/lesson-order`, { lessonIds: [ids[0], ids[1]] });
    expect(partial.status).toBe(400);
    expect(partial.body.error.code).toBe('invalid_order');
    expect((await teacher.client.request('PUT', `/api/courses/${course.id}/lesson-order`, { lessonIds: ['x'] })).status).toBe(400);
    const renamed = await teacher.client.patch(`/api/lessons/${ids[0]}`, { title: 'A, renamed' });
    expect(renamed.body.lesson.title).toBe('A, renamed');
    expect((await del(teacher.client, `/api/lessons/${ids[1]}`)).status).toBe(200);
    expect((await teacher.client.get(`/api/courses/${course.id}`)).body.lessons).toHaveLength(2);
  });

  it('searches title and description with full text (word prefixes, all words) and paginates', async () => {
    const tag = `zq${Math.random().toString(36).slice(2, 8)}`;
    const made = [];
    for (let i = 0; i < 5; i++)
      made.push((await publishedCourse(`${tag} photography ${i}`, i === 4 ? 'Lighting for portraits' : 'Cameras')).course.id);
    await publishedCourse(`Unrelated ${tag}x`, 'Nothing to see');
    const byTitle = await student.client.get(`/api/courses?q=${tag}%20photo&pageSize=2`);
    expect(byTitle.status).toBe(200);
    expect(byTitle.body).toMatchObject({ total: 5, page: 1, pageSize: 2, pageCount: 3 });
    expect(byTitle.body.items).toHaveLength(2);
    const seen = new Set<string>();
    for (let page = 1; page <= 3; page++) {
      const res = await student.client.get(`/api/courses?q=${tag}%20photo&pageSize=2&page=${page}`);
      for (const item of res.body.items) seen.add(item.id);
    }
    expect([...seen].sort()).toEqual([...made].sort());
    const byDescription = await student.client.get(`/api/courses?q=${tag}%20portrait`);
    expect(byDescription.body.items.map((i: { id: string }) => i.id)).toEqual([made[4]]);
    expect((await student.client.get(`/api/courses?q=${tag}%20nosuchword`)).body.total).toBe(0);
    // Query syntax in the input is just text, never an error.
    expect((await student.client.get(`/api/courses?q=${encodeURIComponent("'&|!(:*")}`)).status).toBe(200);
    expect((await student.client.get('/api/courses?pageSize=500')).status).toBe(400);
    expect((await student.client.get('/api/courses?page=0')).status).toBe(400);
    expect((await anonymous.get(`/api/courses?q=${tag}`)).body.total).toBe(6);
  });

  it('enrolls and unenrolls; only enrolled students, the teacher and admins may open lessons', async () => {
    const { course, lessons } = await publishedCourse('Enroll here', 'desc', ['First', 'Second']);
    const lessonUrl = `/api/lessons/${lessons[0].id}`;
    expect((await student.client.get(lessonUrl)).status).toBe(403);
    expect((await anonymous.get(lessonUrl)).status).toBe(401);
    expect((await anonymous.post(`/api/courses/${course.id}/enrollment`)).status).toBe(401);
    const enrolled = await student.client.post(`/api/courses/${course.id}/enrollment`);
    expect(enrolled.status).toBe(201);
    expect((await student.client.post(`/api/courses/${course.id}/enrollment`)).status).toBe(200);
    expect((await teacher.client.post(`/api/courses/${course.id}/enrollment`)).status).toBe(409);
    const detail = await student.client.get(`/api/courses/${course.id}`);
    expect(detail.body).toMatchObject({ role: 'student', enrolled: true });
    expect(detail.body.progress).toMatchObject({ completedLessons: 0, totalLessons: 2, percent: 0, continueLessonId: lessons[0].id });
    const lesson = await student.client.get(lessonUrl);
    expect(lesson.status).toBe(200);
    expect(lesson.body).toMatchObject({ role: 'student', nextLessonId: lessons[1].id, previousLessonId: null });
    expect((await teacher.client.get(lessonUrl)).body.role).toBe('teacher');
    expect((await admin.client.get(lessonUrl)).body.role).toBe('admin');
    expect((await outsider.client.get(lessonUrl)).status).toBe(403);
    expect((await student.client.get(`/api/courses?scope=enrolled`)).body.items.map((i: { id: string }) => i.id)).toContain(course.id);
    expect((await del(student.client, `/api/courses/${course.id}/enrollment`)).body.enrolled).toBe(false);
    expect((await student.client.get(lessonUrl)).status).toBe(403);
    const draft = (await teacher.client.post('/api/courses', { title: 'Not yet' })).body.course;
    expect((await student.client.post(`/api/courses/${draft.id}/enrollment`)).status).toBe(404);
  });

  it('records lesson progress: validated, completed at 90 % and stays completed, course progress and resume point', async () => {
    const { course, lessons } = await publishedCourse('Progressive', 'desc', ['One', 'Two']);
    const url = (i: number) => `/api/lessons/${lessons[i].id}/progress`;
    expect((await student.client.request('PUT', url(0), { positionSeconds: 10, durationSeconds: 100 })).status).toBe(403);
    expect((await anonymous.request('PUT', url(0), { positionSeconds: 10, durationSeconds: 100 })).status).toBe(401);
    await student.client.post(`/api/courses/${course.id}/enrollment`);
    for (const bad of [
      { positionSeconds: -1, durationSeconds: 100 },
      { positionSeconds: 500, durationSeconds: 100 },
      { positionSeconds: 'x', durationSeconds: 100 },
      {},
    ]) {
      const res = await student.client.request('PUT', url(0), bad);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
    }
    const half = await student.client.request('PUT', url(0), { positionSeconds: 50.7, durationSeconds: 100 });
    expect(half.status).toBe(200);
    expect(half.body.progress).toMatchObject({ positionSeconds: 50, durationSeconds: 100, percent: 50, completed: false });
    let detail = await student.client.get(`/api/courses/${course.id}`);
    expect(detail.body.progress).toMatchObject({ completedLessons: 0, continueLessonId: lessons[0].id, continuePositionSeconds: 50 });
    expect((await student.client.get(url(0))).body.progress.positionSeconds).toBe(50);
    const done = await student.client.request('PUT', url(0), { positionSeconds: 90, durationSeconds: 100 });
    expect(done.body.progress).toMatchObject({ completed: true, percent: 100 });
    const rewatch = await student.client.request('PUT', url(0), { positionSeconds: 5, durationSeconds: 100 });
    expect(rewatch.body.progress).toMatchObject({ completed: true, positionSeconds: 5 });
    detail = await student.client.get(`/api/courses/${course.id}`);
    expect(detail.body.progress).toMatchObject({ completedLessons: 1, totalLessons: 2, percent: 50, continueLessonId: lessons[1].id });
    expect(detail.body.lessons[0].progress.completed).toBe(true);
    // The teacher previewing a lesson may also keep a position (no error), an outsider may not.
    expect((await teacher.client.request('PUT', url(1), { positionSeconds: 1, durationSeconds: 10 })).status).toBe(200);
    expect((await outsider.client.request('PUT', url(1), { positionSeconds: 1, durationSeconds: 10 })).status).toBe(403);
    expect(
      (
        await student.client.request('PUT', '/api/lessons/00000000-0000-4000-8000-000000000000/progress', {
          positionSeconds: 1,
          durationSeconds: 10,
        })
      ).status,
    ).toBe(404);
  });

  it('deletes a course (teacher or admin only) with its lessons', async () => {
    const { course, lessons } = await publishedCourse('Short lived');
    expect((await del(otherTeacher.client, `/api/courses/${course.id}`)).status).toBe(403);
    expect((await del(teacher.client, `/api/courses/${course.id}`)).status).toBe(200);
    expect((await teacher.client.get(`/api/courses/${course.id}`)).status).toBe(404);
    expect((await teacher.client.get(`/api/lessons/${lessons[0].id}`)).status).toBe(404);
  });
});
