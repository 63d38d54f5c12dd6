// Courses, lessons and enrollment: bodies the server validates and the teacher's editor pre-checks.
import { z } from 'zod';

const Title = z.string().trim().min(1, { message: 'Title is required' }).max(160, { message: 'Title must be at most 160 characters' });
const Description = z.string().trim().max(10_000, { message: 'Description must be at most 10,000 characters' });
/** A web image link: http(s) only, so no javascript:, data: or file: URL ever reaches a page. */
const ThumbnailUrl = z.httpUrl({ message: 'Thumbnail must be an http(s) link' }).max(2000);

export const CourseCreateBody = z.object({
  title: Title,
  description: Description.default(''),
  thumbnailUrl: ThumbnailUrl.nullable().optional(),
  priceCents: z.number().int().min(0, { message: 'Price cannot be negative' }).max(10_000_000).default(0),
  currency: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^[A-Z]{3}$/, { message: 'Currency is a 3-letter code' })
    .default('EUR'),
});
export type CourseCreateBody = z.input<typeof CourseCreateBody>;

export const CourseUpdateBody = z
  .object({
    title: Title,
    description: Description,
    thumbnailUrl: ThumbnailUrl.nullable(),
    priceCents: z.number().int().min(0, { message: 'Price cannot be negative' }).max(10_000_000),
    currency: z
      .string()
      .trim()
      .toUpperCase()
      .regex(/^[A-Z]{3}$/, { message: 'Currency is a 3-letter code' }),
    published: z.boolean(),
  })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'Nothing to change' });
export type CourseUpdateBody = z.input<typeof CourseUpdateBody>;

export const PAGE_SIZE_MAX = 50;

export const CatalogQuery = z.object({
  q: z.string().trim().max(200, { message: 'Search is at most 200 characters' }).optional(),
  page: z.coerce.number().int().min(1, { message: 'page starts at 1' }).max(10_000).default(1),
  pageSize: z.coerce
    .number()
    .int()
    .min(1)
    .max(PAGE_SIZE_MAX, { message: `pageSize is at most ${PAGE_SIZE_MAX}` })
    .default(12),
  /** 'teaching': courses I teach (drafts included); 'enrolled': courses I take */
  scope: z.enum(['all', 'teaching', 'enrolled']).default('all'),
});
export type CatalogQuery = z.input<typeof CatalogQuery>;

export const LessonCreateBody = z.object({ title: Title, description: Description.default('') });
export type LessonCreateBody = z.input<typeof LessonCreateBody>;

export const LessonUpdateBody = z
  .object({ title: Title, description: Description })
  .partial()
  .refine((b) => Object.keys(b).length > 0, { message: 'Nothing to change' });
export type LessonUpdateBody = z.input<typeof LessonUpdateBody>;

export const LessonOrderBody = z.object({
  lessonIds: z.array(z.uuid()).min(1).max(500),
});
export type LessonOrderBody = z.input<typeof LessonOrderBody>;

export interface CourseSummary {
  id: string;
  title: string;
  description: string;
  thumbnailUrl: string | null;
  priceCents: number;
  currency: string;
  published: boolean;
  teacherId: string;
  teacherName: string;
  lessonCount: number;
  enrolled: boolean;
}

export interface CatalogPage {
  items: CourseSummary[];
  page: number;
  pageSize: number;
  total: number;
  pageCount: number;
}

export type LessonVideoStatus = 'none' | 'processing' | 'ready' | 'failed';

export interface LessonSummary {
  id: string;
  courseId: string;
  position: number;
  title: string;
  description: string;
  durationSeconds: number;
  videoStatus: LessonVideoStatus;
  videoError: string | null;
}

/** What a viewer may do with a course (server/auth/permissions.ts decides it); 'visitor': may see a published
 * course's page but not its lessons, classes or replays. */
export type CourseRole = 'teacher' | 'admin' | 'student' | 'visitor';

/** GET /api/courses/:courseId/storage (teacher, admins): what the course's media takes on disk, in bytes. */
export interface CourseStorageView {
  courseId: string;
  totalBytes: number;
  replays: { bytes: number; items: { id: string; title: string; status: string; bytes: number }[] };
  lessons: { bytes: number; items: { id: string; title: string; bytes: number }[] };
}
