// /api/courses: the catalog, one course's page, the teacher's edits, lessons of a course, enrollment.
import { Hono } from 'hono';
import { CatalogQuery, CourseCreateBody, CourseUpdateBody, LessonCreateBody, LessonOrderBody } from '../../contracts/courses.ts';
import { canEditCourse, canWatchCourse, type Permissions } from '../../auth/permissions.ts';
import type { ClassSchedule } from '../../courses/class-schedule.ts';
import type { CourseStorage } from '../../courses/course-storage.ts';
import { lessonSummary, LessonOrderError, type CourseCatalog } from '../../courses/course-catalog.ts';
import type { LessonProgress } from '../../courses/lesson-progress.ts';
import type { MediaAccess } from '../../hls/media-access.ts';
import type { Recordings } from '../../hls/recordings.ts';
import type { Logger } from '../../log.ts';
import type { LessonVideos } from '../../uploads/lesson-videos.ts';
import { ApiFailure } from '../errors.ts';
import { requireRole, requireUser, type AppEnv } from '../session.ts';
import { jsonBody, queryParams } from '../validate.ts';
import { courseAccess } from './access.ts';
import { requireVerifiedEmail } from '../verified.ts';

const editOnly = 'Only the course teacher or an admin may change this course';

export interface CourseRouteParts {
  permissions: Permissions;
  courses: CourseCatalog;
  schedule: ClassSchedule;
  progress: LessonProgress;
  /** The course's replays (a deleted course's recordings lose their files). */
  recordings: Pick<Recordings, 'courseReplays' | 'forgetCourse'>;
  /** What the course's replays and lessons take on disk. */
  storage: Pick<CourseStorage, 'ofCourse'>;
  /** Forgets cached media access when a student leaves. */
  mediaAccess: Pick<MediaAccess, 'forget'>;
  /** A deleted course's lesson videos stop transcoding and go. */
  videos: Pick<LessonVideos, 'forgetLessons'>;
  /** LECTERN_REQUIRE_VERIFIED_EMAIL: creating courses and enrolling need a confirmed address. */
  requireVerifiedEmail: boolean;
  log: Logger;
}

export const courseRoutes = ({
  permissions,
  courses,
  schedule,
  progress,
  recordings,
  storage,
  mediaAccess,
  videos,
  requireVerifiedEmail: verifiedOnly,
  log,
}: CourseRouteParts) =>
  new Hono<AppEnv>()
    .get('/', async (c) => {
      const query = queryParams(c, CatalogQuery);
      return c.json(await courses.list(c.get('user'), query));
    })
    .post('/', async (c) => {
      const user = requireRole(c, 'teacher', 'admin');
      requireVerifiedEmail(user, verifiedOnly, 'teach');
      const body = await jsonBody(c, CourseCreateBody);
      const course = await courses.create(user.id, body);
      log.info({ courseId: course.id, teacherId: user.id }, 'course created');
      return c.json({ course }, 201);
    })
    .get('/:courseId', async (c) => {
      const user = c.get('user');
      const { role, course } = await courseAccess(permissions, c);
      const watch = canWatchCourse(role);
      const [lessons, teacherName, classes, lessonProgress, enrolledCount] = await Promise.all([
        courses.lessons(course.id),
        courses.teacherName(course.teacherId),
        schedule.forCourse(course.id, role === 'teacher' ? 'teacher' : role === 'admin' ? 'admin' : 'student'),
        user && watch ? progress.forCourse(user.id, course.id) : Promise.resolve(new Map()),
        canEditCourse(role) ? courses.enrollmentCount(course.id) : Promise.resolve(null),
      ]);
      // Replays with signed thumbnail and playlist links (ready ones), or their status while being made.
      const replays = watch && user ? await recordings.courseReplays(course.id, user.id) : [];
      const courseProgress = user && role === 'student' ? await progress.courseProgress(user.id, course.id) : null;
      return c.json({
        course: { ...course, teacherName },
        role,
        enrolled: role === 'student',
        enrolledCount,
        lessons: lessons.map((l) => ({ ...lessonSummary(l, { editor: canEditCourse(role) }), progress: lessonProgress.get(l.id) ?? null })),
        classes,
        replays,
        progress: courseProgress,
      });
    })
    .patch('/:courseId', async (c) => {
      const { course } = await courseAccess(permissions, c, canEditCourse, editOnly);
      const body = await jsonBody(c, CourseUpdateBody);
      if (body.published === true && course.published === false) {
        const lessons = await courses.lessons(course.id);
        if (lessons.length === 0) throw new ApiFailure(409, 'no_lessons', 'Add at least one lesson before publishing');
      }
      return c.json({ course: await courses.update(course.id, body) });
    })
    .delete('/:courseId', async (c) => {
      const { course } = await courseAccess(permissions, c, canEditCourse, editOnly);
      // A class on air is recording into the course's files: it ends first.
      if ((await schedule.forCourse(course.id, 'teacher')).some((k) => k.status === 'live'))
        throw new ApiFailure(409, 'class_live', 'A class of this course is live: end it before deleting the course');
      const lessons = await courses.lessons(course.id);
      await videos.forgetLessons(lessons.map((l) => l.id));
      await recordings.forgetCourse(course.id);
      await courses.remove(course.id);
      log.info({ courseId: course.id }, 'course deleted');
      return c.json({ ok: true });
    })
    .get('/:courseId/storage', async (c) => {
      const { course } = await courseAccess(permissions, c, canEditCourse, editOnly);
      return c.json(await storage.ofCourse(course.id));
    })
    .post('/:courseId/lessons', async (c) => {
      const { course } = await courseAccess(permissions, c, canEditCourse, editOnly);
      const body = await jsonBody(c, LessonCreateBody);
      const lesson = await courses.addLesson(course.id, body);
      return c.json({ lesson: lessonSummary(lesson, { editor: true }) }, 201);
    })
    .put('/:courseId/lesson-order', async (c) => {
      const { course } = await courseAccess(permissions, c, canEditCourse, editOnly);
      const body = await jsonBody(c, LessonOrderBody);
      try {
        const lessons = await courses.reorderLessons(course.id, body.lessonIds);
        return c.json({ lessons: lessons.map((l) => lessonSummary(l, { editor: true })) });
      } catch (err) {
        if (err instanceof LessonOrderError) throw new ApiFailure(400, 'invalid_order', err.message);
        throw err;
      }
    })
    .post('/:courseId/enrollment', async (c) => {
      const user = requireUser(c);
      const { role, course } = await courseAccess(permissions, c);
      if (role === 'teacher') throw new ApiFailure(409, 'own_course', 'You teach this course');
      if (!course.published) throw new ApiFailure(409, 'not_published', 'This course is not published yet');
      if (role !== 'student') requireVerifiedEmail(user, verifiedOnly, 'enroll');
      await courses.enroll(user.id, course.id);
      return c.json({ enrolled: true }, role === 'student' ? 200 : 201);
    })
    .delete('/:courseId/enrollment', async (c) => {
      const user = requireUser(c);
      const { course } = await courseAccess(permissions, c);
      await courses.unenroll(user.id, course.id);
      // Media links already handed out re-check access through a short cache: this process forgets at once.
      mediaAccess.forget(user.id);
      return c.json({ enrolled: false });
    });
