// How a person appears next to what they wrote in a class: their name and their role in that class.
import { sql, type SQL } from 'drizzle-orm';
import type { Author } from '../contracts/interaction.ts';
import { liveClasses, users } from '../db/schema.ts';

/** SQL for the author's role in the class (needs `users` and `live_classes` in the query). */
export const authorRoleSql: SQL<Author['role']> = sql<
  Author['role']
>`case when ${liveClasses.teacherId} = ${users.id} then 'teacher' when ${users.role} = 'admin' then 'admin' else 'student' end`;

export function isoDate(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
