// TURN credentials with a lifetime, after the TURN REST API convention that coturn implements with
// `use-auth-secret` + `static-auth-secret`: the username is "<expiry unix seconds>:<user id>" and the password is
// base64(HMAC-SHA1(secret, username)). Nothing is stored: coturn recomputes the password from the shared secret
// and refuses a username whose time has passed. Each user gets their own when they join a class's media.
import type { IceServerInfo } from '../contracts/sfu.ts';
import { createHmac } from 'node:crypto';

export type IceServer = IceServerInfo;

export interface TurnOptions {
  /** turn:/turns: URLs of the TURN servers (all sharing one secret). */
  urls: string[];
  secret: string;
  /** How long a minted credential is good for; it must outlast the longest class (allocations refresh with it). */
  ttlSeconds: number;
}

export function turnCredential(turn: TurnOptions, userId: string, nowMs = Date.now()): IceServer {
  const username = `${Math.floor(nowMs / 1000) + turn.ttlSeconds}:${userId}`;
  const credential = createHmac('sha1', turn.secret).update(username).digest('base64');
  return { urls: turn.urls, username, credential };
}

/** What a user's browser is handed: the configured STUN/TURN servers plus a fresh TURN credential of their own. */
export function iceServersFor(media: { iceServers: IceServer[]; turn: TurnOptions | undefined }, userId: string): IceServer[] {
  return media.turn ? [...media.iceServers, turnCredential(media.turn, userId)] : media.iceServers;
}
