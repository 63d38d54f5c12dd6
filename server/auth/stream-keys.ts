// Stream keys: the bearer token an encoder (OBS, a hardware encoder) sends to publish a class over WHIP. One
// current key per class; only its SHA-256 is stored (a key is 32 random bytes, so a slow hash adds nothing).
// Making a new key revokes the old one in the same transaction; revoked rows stay so a revoked key can be told
// apart from a wrong one in the encoder's error.
import crypto from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { streamKeys, type StreamKey } from '../db/schema.ts';

const PREFIX = 'lsk_';
/** Longest bearer token looked at: anything longer is not one of ours. */
export const MAX_STREAM_KEY_LENGTH = 128;

export type StreamKeyCheck = { ok: true; key: StreamKey } | { ok: false; reason: 'missing' | 'unknown' | 'revoked'; key?: StreamKey };

const hashOf = (key: string): string => crypto.createHash('sha256').update(key, 'utf8').digest('hex');

export class StreamKeys {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** A new key for the class (revoking the current one). The plain key is returned once and never stored. */
  async rotate(classId: string, createdBy: string): Promise<{ key: string; row: StreamKey; revoked: StreamKey | undefined }> {
    const key = `${PREFIX}${crypto.randomBytes(32).toString('base64url')}`;
    return this.#db.transaction(async (tx) => {
      const [revoked] = await tx
        .update(streamKeys)
        .set({ revokedAt: new Date() })
        .where(and(eq(streamKeys.classId, classId), isNull(streamKeys.revokedAt)))
        .returning();
      const [row] = await tx
        .insert(streamKeys)
        .values({ classId, keyHash: hashOf(key), createdBy })
        .returning();
      return { key, row: row!, revoked };
    });
  }

  /** The class's current key (not the key itself: only when it was made and by whom). */
  async current(classId: string): Promise<StreamKey | undefined> {
    const [row] = await this.#db
      .select()
      .from(streamKeys)
      .where(and(eq(streamKeys.classId, classId), isNull(streamKeys.revokedAt)))
      .limit(1);
    return row;
  }

  /** Which key a bearer token is, if any. */
  async check(token: string | undefined): Promise<StreamKeyCheck> {
    if (!token) return { ok: false, reason: 'missing' };
    if (!token.startsWith(PREFIX) || token.length > MAX_STREAM_KEY_LENGTH) return { ok: false, reason: 'unknown' };
    const [row] = await this.#db
      .select()
      .from(streamKeys)
      .where(eq(streamKeys.keyHash, hashOf(token)))
      .limit(1);
    if (!row) return { ok: false, reason: 'unknown' };
    if (row.revokedAt) return { ok: false, reason: 'revoked', key: row };
    return { ok: true, key: row };
  }
}
