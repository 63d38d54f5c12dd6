// /api/courses: the catalog, one course's page, the teacher's edits, lessons of a course, enrollment.
import { Hono } from 'hono';
import { CatalogQuery, CourseCreateBody, CourseUpdateBody, LessonCreateBody, LessonOrderBody } from '../../contracts/courses.ts';
import { canEditCourse, canWatchCourse } from '../../auth/permissions.ts';
import { lessonSummary, LessonOrderError } from '../../courses/course-catalog.ts';
import { ApiFailure } from '../errors.ts';
import { requireRole, requireUser, type AppEnv } from '../session.ts';
import { jsonBody, queryParams } from '../validate.ts';
import { courseAccess } from './access.ts';

const editOnly = 'Only the course teacher or an admin may change this course';

export const courseRoutes = new Hono<AppEnv>()
  .get('/', async (c) => {
    const query = queryParams(c, CatalogQuery);
    return c.json(await c.get('services').courses.list(c.get('user'), query));
  })
  .post('/', async (c) => {
    const user = requireRole(c, 'teacher', 'admin');
    const body = await jsonBody(c, CourseCreateBody);
    const course = await c.get('services').courses.create(user.id, body);
    c.get('services').log.info({ courseId: course.id, teacherId: user.id }, 'course created');
    return c.json({ course }, 201);
  })
  .get('/:courseId', async (c) => {
    const services = c.get('services');
    const user = c.get('user');
    const { role, course } = await courseAccess(c);
    const watch = canWatchCourse(role);
    const [lessons, teacherName, classes, progress, enrolledCount] = await Promise.all([
      services.courses.lessons(course.id),
      services.courses.teacherName(course.teacherId),
      services.schedule.forCourse(course.id, role === 'teacher' ? 'teacher' : role === 'admin' ? 'admin' : 'student'),
      user && watch ? services.progress.forCourse(user.id, course.id) : Promise.resolve(new Map()),
      canEditCourse(role) ? services.courses.enrollmentCount(course.id) : Promise.resolve(null),
    ]);
    // Replays with signed thumbnail and playlist links (ready ones), or their status while being made.
    const replays = watch && user ? await services.hls.courseReplays(course.id, user.id) : [];
    const courseProgress = user && role === 'student' ? await services.progress.courseProgress(user.id, course.id) : null;
    return c.json({
      course: { ...course, teacherName },
      role,
      enrolled: role === 'student',
      enrolledCount,
      lessons: lessons.map((l) => ({ ...lessonSummary(l, { editor: canEditCourse(role) }), progress: progress.get(l.id) ?? null })),
      classes,
      replays,
      progress: courseProgress,
    });
  })
  .patch('/:courseId', async (c) => {
    const { course } = await courseAccess(c, canEditCourse, editOnly);
    const body = await jsonBody(c, CourseUpdateBody);
    if (body.published === true && course.published === false) {
      const lessons = await c.get('services').courses.lessons(course.id);
      if (lessons.length === 0) throw new ApiFailure(409, 'no_lessons', 'Add at least one lesson before publishing');
    }
    return c.json({ course: await c.get('services').courses.update(course.id, body) });
  })
  .delete('/:courseId', async (c) => {
    const { course } = await courseAccess(c, canEditCourse, editOnly);
    const services = c.get('services');
    const lessons = await services.courses.lessons(course.id);
    await services.transcodes.forgetLessons(lessons.map((l) => l.id));
    await services.courses.remove(course.id);
    services.log.info({ courseId: course.id }, 'course deleted');
    return c.json({ ok: true });
  })
  .post('/:courseId/lessons', async (c) => {
    const { course } = await courseAccess(c, canEditCourse, editOnly);
    const body = await jsonBody(c, LessonCreateBody);
    const lesson = await c.get('services').courses.addLesson(course.id, body);
    return c.json({ lesson: lessonSummary(lesson, { editor: true }) }, 201);
  })
  .put('/:courseId/lesson-order', async (c) => {
    const { course } = await courseAccess(c, canEditCourse, editOnly);
    const body = await jsonBody(c, LessonOrderBody);
    try {
      const lessons = await c.get('services').courses.reorderLessons(course.id, body.lessonIds);
      return c.json({ lessons: lessons.map((l) => lessonSummary(l, { editor: true })) });
    } catch (err) {
      if (err instanceof LessonOrderError) throw new ApiFailure(400, 'invalid_order', err.message);
      throw err;
    }
  })
  .post('/:courseId/enrollment', async (c) => {
    const user = requireUser(c);
    const { role, course } = await courseAccess(c);
    if (role === 'teacher') throw new ApiFailure(409, 'own_course', 'You teach this course');
    if (!course.published) throw new ApiFailure(409, 'not_published', 'This course is not published yet');
    await c.get('services').courses.enroll(user.id, course.id);
    return c.json({ enrolled: true }, role === 'student' ? 200 : 201);
  })
  .delete('/:courseId/enrollment', async (c) => {
    const user = requireUser(c);
    const { course } = await courseAccess(c);
    const services = c.get('services');
    await services.courses.unenroll(user.id, course.id);
    // Media links already handed out re-check access through short caches: this process forgets at once.
    services.lessonMedia.forgetAccess(user.id);
    services.hls.forgetAccess(user.id);
    return c.json({ enrolled: false });
  });
