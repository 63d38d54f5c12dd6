// The people the API tests act as: a course's teacher, another teacher, a student, a student outside the
// course and an admin. All register through the API; the admin is then promoted in the database, since nobody
// can sign up as one.
import { eq } from 'drizzle-orm';
import { users } from '../../server/db/schema.ts';
import { registerUser, type RegisteredUser } from './http-client.ts';
import type { TestServer } from './server.ts';

export interface People {
  teacher: RegisteredUser;
  otherTeacher: RegisteredUser;
  student: RegisteredUser;
  outsider: RegisteredUser;
  admin: RegisteredUser;
}

const DISPLAY_NAMES: Record<keyof People, string> = {
  teacher: 'Tess Teacher',
  otherTeacher: 'Otto Other',
  student: 'Sam Student',
  outsider: 'Olga Outsider',
  admin: 'Ada Admin',
};

/** Registers everyone at once; `names` overrides display names (e.g. one a spreadsheet would read as a formula). */
export async function registerPeople(server: TestServer, names: Partial<Record<keyof People, string>> = {}): Promise<People> {
  const name = (who: keyof People) => names[who] ?? DISPLAY_NAMES[who];
  const [teacher, otherTeacher, student, outsider, admin] = await Promise.all([
    registerUser(server.url, 'teacher', name('teacher')),
    registerUser(server.url, 'teacher', name('otherTeacher')),
    registerUser(server.url, 'student', name('student')),
    registerUser(server.url, 'student', name('outsider')),
    registerUser(server.url, 'student', name('admin')),
  ]);
  await server.db.update(users).set({ role: 'admin' }).where(eq(users.id, admin.user.id));
  return { teacher, otherTeacher, student, outsider, admin };
}
