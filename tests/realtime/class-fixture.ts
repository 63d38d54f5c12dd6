// Test fixture for class interaction: a live class (started) taught by a registered teacher, with registered
// students enrolled. Sockets for these people come from ../helpers/socket-client.ts.
import type { Database } from '../../server/db/client.ts';
import type { RegisteredUser } from '../helpers/http-client.ts';
import { insertClass } from '../helpers/live-class.ts';

export type Person = RegisteredUser;

/** A course taught by `teacher` with one live class, every student enrolled. Returns the class id. */
export async function createLiveClass(
  db: Database,
  teacher: Person,
  students: Person[],
  title = 'Interaction test class',
): Promise<string> {
  const rows = await insertClass(db, {
    teacherId: teacher.user.id,
    studentIds: students.map((s) => s.user.id),
    title,
    courseTitle: `${title} course`,
    live: true,
  });
  return rows.classId;
}
