// npm run seed: a demo teacher, a student, an admin, a published course with lessons and a class scheduled
// for tomorrow. Idempotent: running it again keeps what is there and prints the same logins.
import path from 'node:path';
import { and, eq, sql } from 'drizzle-orm';
import { loadConfig } from '../server/config.ts';
import { openDatabase, schema } from '../server/db/client.ts';
import { hashPassword } from '../server/auth/passwords.ts';

const config = loadConfig();
const { db, close } = await openDatabase({ url: config.databaseUrl, pgliteDir: path.join(config.dataDir, 'db') });

const PASSWORD = 'lectern-demo-2026';
const people = [
  { email: 'teacher@lectern.test', displayName: 'Dr. Ada Lovelace', role: 'teacher' as const },
  { email: 'student@lectern.test', displayName: 'Alan Turing', role: 'student' as const },
  { email: 'admin@lectern.test', displayName: 'Lectern Admin', role: 'admin' as const },
];

// Demo accounts come with their addresses confirmed (nobody reads mail at lectern.test), so they may enroll and
// teach at once, as real accounts do after following their confirmation link.
const ids: Record<string, string> = {};
for (const p of people) {
  const existing = await db
    .select()
    .from(schema.users)
    .where(eq(sql`lower(${schema.users.email})`, p.email));
  ids[p.role] =
    existing[0]?.id ??
    (
      await db
        .insert(schema.users)
        .values({ ...p, passwordHash: await hashPassword(PASSWORD), emailVerifiedAt: new Date() })
        .returning()
    )[0]!.id;
  await db
    .update(schema.users)
    .set({ emailVerifiedAt: sql`coalesce(${schema.users.emailVerifiedAt}, now())` })
    .where(eq(schema.users.id, ids[p.role]!));
}

const title = 'Introduction to Signals and Systems';
let [course] = await db
  .select()
  .from(schema.courses)
  .where(and(eq(schema.courses.title, title), eq(schema.courses.teacherId, ids.teacher!)));
if (!course) {
  [course] = await db
    .insert(schema.courses)
    .values({
      teacherId: ids.teacher!,
      title,
      description: 'Sampling, filters and the Fourier transform, taught live with worked examples.',
      published: true,
    })
    .returning();
  const lessonTitles = ['Sampling and aliasing', 'Convolution', 'The Fourier transform'];
  await db
    .insert(schema.lessons)
    .values(lessonTitles.map((t, i) => ({ courseId: course!.id, position: i, title: t, durationSeconds: 3600 })));
}
await db.insert(schema.enrollments).values({ userId: ids.student!, courseId: course!.id }).onConflictDoNothing();
const classes = await db.select().from(schema.liveClasses).where(eq(schema.liveClasses.courseId, course!.id));
if (classes.length === 0) {
  const [first] = await db
    .select()
    .from(schema.lessons)
    .where(eq(schema.lessons.courseId, course!.id))
    .orderBy(schema.lessons.position)
    .limit(1);
  const tomorrow = new Date(Date.now() + 24 * 3600_000);
  tomorrow.setUTCMinutes(0, 0, 0);
  await db.insert(schema.liveClasses).values({
    courseId: course!.id,
    lessonId: first?.id ?? null,
    teacherId: ids.teacher!,
    title: 'Live: Sampling and aliasing',
    scheduledAt: tomorrow,
  });
}
await close();

console.log(
  `Demo data is ready (${config.databaseUrl ? 'PostgreSQL' : 'PGlite in ' + config.dataDir}). Log in with password "${PASSWORD}":`,
);
for (const p of people) console.log(`  ${p.role.padEnd(8)} ${p.email}`);
