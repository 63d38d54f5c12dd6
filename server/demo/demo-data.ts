// The demo data a newcomer logs in with: a teacher, a student and an admin (one shared password), a published
// course with three lessons and a class scheduled for tomorrow. Idempotent: adding it again keeps what is there
// and answers with the same logins. `npm run seed` and `npm start -- --demo` both come here.
import { and, eq, sql } from 'drizzle-orm';
import type { Database, DatabaseHandle } from '../db/client.ts';
import type { Logger } from '../log.ts';
import { LocalControl } from '../ops/local-control.ts';
import { courses, enrollments, lessons, liveClasses, users } from '../db/schema.ts';
import { hashPassword } from '../auth/passwords.ts';

export const DEMO_PASSWORD = 'lectern-demo-2026';

const PEOPLE = [
  { email: 'teacher@lectern.test', displayName: 'Dr. Ada Lovelace', role: 'teacher' as const },
  { email: 'student@lectern.test', displayName: 'Alan Turing', role: 'student' as const },
  { email: 'admin@lectern.test', displayName: 'Lectern Admin', role: 'admin' as const },
];

export interface DemoLogins {
  password: string;
  people: { role: 'teacher' | 'student' | 'admin'; email: string }[];
}

export async function addDemoData(db: Database): Promise<DemoLogins> {
  const ids: Record<string, string> = {};
  for (const p of PEOPLE) {
    const [existing] = await db
      .select({ id: users.id })
      .from(users)
      .where(eq(sql`lower(${users.email})`, p.email));
    ids[p.role] =
      existing?.id ??
      (
        await db
          .insert(users)
          .values({ ...p, passwordHash: await hashPassword(DEMO_PASSWORD), emailVerifiedAt: new Date() })
          .onConflictDoNothing()
          .returning({ id: users.id })
      )[0]?.id ??
      // Someone else added it between our look and our insert (two seeds at once).
      (
        await db
          .select({ id: users.id })
          .from(users)
          .where(eq(sql`lower(${users.email})`, p.email))
      )[0]!.id;
    // Demo addresses count as confirmed (nobody reads mail at lectern.test), so they may enroll and teach at once.
    await db
      .update(users)
      .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())` })
      .where(eq(users.id, ids[p.role]!));
  }

  const title = 'Introduction to Signals and Systems';
  let [course] = await db
    .select()
    .from(courses)
    .where(and(eq(courses.title, title), eq(courses.teacherId, ids.teacher!)));
  if (!course) {
    [course] = await db
      .insert(courses)
      .values({
        teacherId: ids.teacher!,
        title,
        description: 'Sampling, filters and the Fourier transform, taught live with worked examples.',
        published: true,
      })
      .returning();
    const lessonTitles = ['Sampling and aliasing', 'Convolution', 'The Fourier transform'];
    await db.insert(lessons).values(lessonTitles.map((t, i) => ({ courseId: course!.id, position: i, title: t, durationSeconds: 3600 })));
  }
  await db.insert(enrollments).values({ userId: ids.student!, courseId: course!.id }).onConflictDoNothing();
  const classes = await db.select({ id: liveClasses.id }).from(liveClasses).where(eq(liveClasses.courseId, course!.id));
  if (classes.length === 0) {
    const [first] = await db.select().from(lessons).where(eq(lessons.courseId, course!.id)).orderBy(lessons.position).limit(1);
    const tomorrow = new Date(Date.now() + 24 * 3600_000);
    tomorrow.setUTCMinutes(0, 0, 0);
    await db.insert(liveClasses).values({
      courseId: course!.id,
      lessonId: first?.id ?? null,
      teacherId: ids.teacher!,
      title: 'Live: Sampling and aliasing',
      scheduledAt: tomorrow,
    });
  }
  return { password: DEMO_PASSWORD, people: PEOPLE.map(({ role, email }) => ({ role, email })) };
}

/** The lines a person reads: where the data is and how to log in. */
export function describeDemoLogins(logins: DemoLogins, where: string): string {
  return [
    `Demo data is ready (${where}). Log in with password "${logins.password}":`,
    ...logins.people.map((p) => `  ${p.role.padEnd(8)} ${p.email}`),
  ].join('\n');
}

export interface DemoAccess {
  /** The logins when the demo data was added at start-up (`npm start -- --demo`). */
  readonly added: string | undefined;
  close(): Promise<void>;
}

/**
 * `--demo` adds the demo data now; with the embedded database, `npm run seed` can add it later through this
 * server (LocalControl), since no second process may open that database while we run.
 */
export async function offerDemoData(options: {
  database: DatabaseHandle;
  dataDir: string;
  addNow: boolean;
  log: Logger;
}): Promise<DemoAccess> {
  const { database, dataDir, log } = options;
  const where = database.kind === 'pglite' ? `PGlite in ${dataDir}` : 'PostgreSQL';
  let added: string | undefined;
  if (options.addNow) {
    added = describeDemoLogins(await addDemoData(database.db), where);
    log.info({ demo: true }, 'demo data added');
  }
  if (database.kind !== 'pglite') return { added, close: async () => {} };
  const control = await LocalControl.open(
    dataDir,
    async () => {
      const text = describeDemoLogins(await addDemoData(database.db), `added through the running server, ${where}`);
      log.info({ demo: true }, 'demo data added on request (npm run seed)');
      return text;
    },
    log,
  ).catch((err: unknown) => {
    log.warn({ err }, 'no local control socket: `npm run seed` cannot reach this server (use npm start -- --demo)');
    return undefined;
  });
  return { added, close: async () => control?.close() };
}
