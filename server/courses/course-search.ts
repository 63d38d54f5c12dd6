// Full-text search over course title + description. The tsvector expression must match the GIN index in
// schema.ts (courses_search_idx) so PostgreSQL and PGlite both use it. Every word is matched as a prefix
// ("phot" finds "photography"), all words must match.
import { sql, type SQL } from 'drizzle-orm';
import { courses } from '../db/schema.ts';

export const courseDocument: SQL = sql`to_tsvector('english', ${courses.title} || ' ' || ${courses.description})`;

/** A to_tsquery string built only from letters and digits, so no user input reaches the query syntax; null when empty. */
export function prefixQuery(input: string): string | null {
  const words = input.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const unique = [...new Set(words)].slice(0, 12);
  return unique.length ? unique.map((w) => `${w}:*`).join(' & ') : null;
}

export function searchCondition(query: string): SQL {
  return sql`${courseDocument} @@ to_tsquery('english', ${query})`;
}

export function searchRank(query: string): SQL<number> {
  return sql<number>`ts_rank(${courseDocument}, to_tsquery('english', ${query}))`;
}
