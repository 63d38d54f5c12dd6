// Who is in each live class across the nodes of a cluster, kept in Redis so any node answers for the whole class
// (viewer list, student count, whether the teacher or a student is connected) without asking every other node.
// Each node writes only its own members, as they enter, change how they receive media, and leave:
//   <prefix>:presence:node:<node>           hash "<class> <socket>" -> the member (what a dead node's cleanup needs)
//   <prefix>:presence:class:<class>:students hash user -> { name, best mode, their sockets and modes }
//   <prefix>:presence:class:<class>:staff    the same for the teacher and admins
//   <prefix>:presence:class:<class>:modes    students per best mode (webrtc, hls, waiting), kept as they change
//   <prefix>:presence:nodes                  set of the nodes that have members recorded
// Counting students is HLEN; the viewer list is the staff plus students up to a cap, scanned, so a push costs the
// same for ten students or ten thousand. A person with several tabs (on one node or several) shows once, with the
// best way they receive media. A dead node's members are removed by one script (whichever node runs it first gets
// them back and closes their attendance); a node restarted under its name clears what it left itself. A node
// whose members are missing (taken for dead while it was only slow, or Redis restarted empty) records them again.
import { EventEmitter } from 'node:events';
import type { ClassRole, PresenceViewer } from '../contracts/live-class.ts';
import type { Logger } from '../log.ts';
import { answerWithin, type ClusterRedis, type RedisClient } from './cluster-redis.ts';

type Mode = PresenceViewer['mode'];

/** A member as recorded: enough to undo it when their node dies. */
export interface RosterMember {
  classId: string;
  socketId: string;
  userId: string;
  displayName: string;
  role: ClassRole;
  mode: Mode;
  /** Their open attendance row (students of a live class). */
  attendanceId?: string | undefined;
}

/** The class as every node sees it: the staff and students up to the cap, and how many students there are. */
export interface RosterSnapshot {
  viewers: Omit<PresenceViewer, 'onStage'>[];
  studentCount: number;
}

interface Stored {
  c: string;
  s: string;
  u: string;
  n: string;
  r: ClassRole;
  m: Mode;
  a?: string;
}

/** How often a node checks that its members are still recorded (another node may have taken it for dead). */
const RESTORE_MS = 2000;
/**
 * A change or a read answers within a few ms; past this it fails (the caller logs it and goes on with what it knows),
 * so a Redis that stalls without closing the connection does not hold up a join. A change sent stays queued on the
 * connection and is applied in order once Redis answers again.
 */
const ANSWER_TIMEOUT_MS = 1000;

// Shared by the scripts: one person's entry in the class (students or staff), with one of their sockets set to a mode
// or removed (nil); the students' count per best mode follows.
const VIEWERS = `
local function rank(m) if m == 'webrtc' then return 3 elseif m == 'hls' then return 2 else return 1 end end
local function viewerKey(base, e) return base .. ':class:' .. e.c .. (e.r == 'student' and ':students' or ':staff') end
local function put(base, e, mode)
  local key = viewerKey(base, e)
  local raw = redis.call('HGET', key, e.u)
  local v = raw and cjson.decode(raw) or { s = {} }
  local was = v.m
  v.n = e.n
  v.r = e.r
  v.s[e.s] = mode
  local best = nil
  for _, m in pairs(v.s) do if not best or rank(m) > rank(best) then best = m end end
  if e.r == 'student' and was ~= best then
    local modes = base .. ':class:' .. e.c .. ':modes'
    if was then
      if redis.call('HINCRBY', modes, was, -1) <= 0 then redis.call('HDEL', modes, was) end
    end
    if best then redis.call('HINCRBY', modes, best, 1) end
  end
  if not best then redis.call('HDEL', key, e.u) return end
  v.m = best
  redis.call('HSET', key, e.u, cjson.encode(v))
end
`;

/** KEYS: node hash, nodes set; ARGV: base, field, member JSON, node name. */
const ENTER = `${VIEWERS}
local e = cjson.decode(ARGV[3])
local old = redis.call('HGET', KEYS[1], ARGV[2])
if old then put(ARGV[1], cjson.decode(old), nil) end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
put(ARGV[1], e, e.m)
`;

/** KEYS: node hash, nodes set; ARGV: base, field, mode (empty: the member leaves), attendance id (empty: unchanged), node. */
const UPDATE = `${VIEWERS}
local raw = redis.call('HGET', KEYS[1], ARGV[2])
if not raw then return 0 end
local e = cjson.decode(raw)
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[2])
  if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[5]) end
  put(ARGV[1], e, nil)
  return 1
end
e.m = ARGV[3]
if ARGV[4] ~= '' then e.a = ARGV[4] end
redis.call('HSET', KEYS[1], ARGV[2], cjson.encode(e))
put(ARGV[1], e, e.m)
return 1
`;

/** KEYS: node hash, nodes set; ARGV: base, node name. Removes every member of the node; returns them. */
const REMOVE_NODE = `${VIEWERS}
local all = redis.call('HVALS', KEYS[1])
for _, raw in ipairs(all) do
  local e = cjson.decode(raw)
  put(ARGV[1], e, nil)
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
return all
`;

/** KEYS: staff hash, students hash; ARGV: the cap. The staff first, then students, up to the cap (flat user, JSON). */
const SNAPSHOT = `
local limit = tonumber(ARGV[1])
local out = {}
local function take(key)
  local cursor = '0'
  repeat
    local page = redis.call('HSCAN', key, cursor, 'COUNT', 100)
    cursor = page[1]
    for i = 1, #page[2], 2 do
      if #out >= limit * 2 then return end
      out[#out + 1] = page[2][i]
      out[#out + 1] = page[2][i + 1]
    end
  until cursor == '0'
end
take(KEYS[1])
take(KEYS[2])
return { redis.call('HLEN', KEYS[2]), out }
`;

type PresenceStoreEvents = {
  /** This node's members were recorded again (Redis had lost them): the classes' presence may be pushed again. */
  restored: [classIds: string[]];
};

export class PresenceStore extends EventEmitter<PresenceStoreEvents> {
  readonly nodeName: string;
  readonly #redis: RedisClient;
  readonly #base: string;
  readonly #log: Logger;
  /** This node's members as recorded, to record them again if another node removed them (taken for dead). */
  readonly #mine = new Map<string, Stored>();
  readonly #timer: NodeJS.Timeout;
  readonly #connection: ClusterRedis;
  /** Redis came back (perhaps empty, perhaps with some of this node's members only): every one is recorded again. */
  readonly #onUp = (): void => void this.#restore(true);
  #closed = false;

  /** `redis`: this node's connection (its owner closes it after this). */
  constructor(options: { redis: ClusterRedis; prefix: string; nodeName: string; log: Logger }) {
    super();
    this.#connection = options.redis;
    this.#redis = options.redis.client;
    this.#base = `${options.prefix}:presence`;
    this.nodeName = options.nodeName;
    this.#log = options.log;
    this.#timer = setInterval(() => void this.#restore(false), RESTORE_MS);
    this.#timer.unref();
    options.redis.on('up', this.#onUp);
  }

  get closed(): boolean {
    return this.#closed;
  }

  async enter(member: RosterMember): Promise<void> {
    const stored = toStored(member);
    this.#mine.set(field(member.classId, member.socketId), stored);
    await this.#within(this.#enter(stored));
  }

  async setMode(classId: string, socketId: string, mode: Mode): Promise<void> {
    const mine = this.#mine.get(field(classId, socketId));
    if (mine) mine.m = mode;
    await this.#within(this.#update(classId, socketId, mode, ''));
  }

  /** The member's attendance row, closed by whichever node cleans up after this one if it dies. */
  async attended(classId: string, socketId: string, attendanceId: string): Promise<void> {
    const mine = this.#mine.get(field(classId, socketId));
    if (!mine) return;
    mine.a = attendanceId;
    await this.#within(this.#update(classId, socketId, mine.m, attendanceId));
  }

  async leave(classId: string, socketId: string): Promise<void> {
    this.#mine.delete(field(classId, socketId));
    await this.#within(this.#update(classId, socketId, '', ''));
  }

  async studentCount(classId: string): Promise<number> {
    return this.#within(this.#redis.hLen(this.#viewerKey(classId, 'student')));
  }

  /** Whether the person is in the class through any node (the teacher and admins as staff). */
  async connected(classId: string, userId: string, role: ClassRole): Promise<boolean> {
    return (await this.#within(this.#redis.hExists(this.#viewerKey(classId, role), userId))) === 1;
  }

  /** The class's students by how they receive media (each counted once, with their best tab). */
  async studentModes(classId: string): Promise<Record<Mode, number>> {
    const counts = await this.#within(this.#redis.hGetAll(`${this.#base}:class:${classId}:modes`));
    return { webrtc: Number(counts.webrtc ?? 0), hls: Number(counts.hls ?? 0), waiting: Number(counts.waiting ?? 0) };
  }

  async snapshot(classId: string, limit: number): Promise<RosterSnapshot> {
    const [count, flat] = (await this.#within(
      this.#redis.eval(SNAPSHOT, {
        keys: [this.#viewerKey(classId, 'teacher'), this.#viewerKey(classId, 'student')],
        arguments: [String(limit)],
      }),
    )) as [number, string[]];
    const viewers: RosterSnapshot['viewers'] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const v = JSON.parse(flat[i + 1]!) as { n: string; r: ClassRole; m: Mode };
      viewers.push({ userId: flat[i]!, displayName: v.n, role: v.r, mode: v.m });
    }
    return { viewers, studentCount: count };
  }

  #within<T>(answer: Promise<T>): Promise<T> {
    return answerWithin(answer, ANSWER_TIMEOUT_MS);
  }

  /**
   * Removes every member `node` recorded (it died, or this node starts again under its name). Atomic: of the
   * nodes that call it for the same death, the first gets the members, the others nothing. Not given up on after a
   * while: an answer that came late would lose the members it removed.
   */
  async removeNode(node: string): Promise<RosterMember[]> {
    // Forgotten before the script is sent: a restore running meanwhile records none of them again after it.
    if (node === this.nodeName) this.#mine.clear();
    const all = (await this.#redis.eval(REMOVE_NODE, {
      keys: [this.#nodeKey(node), `${this.#base}:nodes`],
      arguments: [this.#base, node],
    })) as string[];
    return all.map((raw) => fromStored(JSON.parse(raw) as Stored));
  }

  /** The nodes that have members recorded (a whole cluster restarted under new names left some behind). */
  async recordedNodes(): Promise<string[]> {
    return this.#redis.sMembers(`${this.#base}:nodes`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#connection.off('up', this.#onUp);
    this.removeAllListeners();
  }

  async #enter(stored: Stored): Promise<void> {
    await this.#redis.eval(ENTER, {
      keys: [this.#nodeKey(this.nodeName), `${this.#base}:nodes`],
      arguments: [this.#base, field(stored.c, stored.s), JSON.stringify(stored), this.nodeName],
    });
  }

  async #update(classId: string, socketId: string, mode: Mode | '', attendanceId: string): Promise<void> {
    await this.#redis.eval(UPDATE, {
      keys: [this.#nodeKey(this.nodeName), `${this.#base}:nodes`],
      arguments: [this.#base, field(classId, socketId), mode, attendanceId, this.nodeName],
    });
  }

  /**
   * This node was taken for dead (stalled past its beats) and its members removed, or Redis came back (`all`: it
   * may have lost some or all of them): they are recorded again. Skipped while Redis is away (`up` follows).
   */
  async #restore(all: boolean): Promise<void> {
    if (this.#closed || this.#mine.size === 0 || !this.#redis.isReady) return;
    try {
      if (!all && (await this.#redis.exists(this.#nodeKey(this.nodeName))) === 1) return;
      if (all) this.#log.info({ members: this.#mine.size }, "Redis is back: this node's class members recorded again");
      else this.#log.warn({ members: this.#mine.size }, "this node's class members were removed by another node: recording them again");
      // Checked just before each is sent: a member who left meanwhile stays out (one connection keeps the order).
      const classIds = new Set<string>();
      for (const [key, stored] of [...this.#mine]) {
        if (this.#mine.get(key) !== stored) continue;
        await this.#enter(stored);
        classIds.add(stored.c);
      }
      this.emit('restored', [...classIds]);
    } catch (err) {
      this.#log.warn({ err }, "could not check this node's recorded class members");
    }
  }

  #nodeKey(node: string): string {
    return `${this.#base}:node:${node}`;
  }

  #viewerKey(classId: string, role: ClassRole): string {
    return `${this.#base}:class:${classId}:${role === 'student' ? 'students' : 'staff'}`;
  }
}

function field(classId: string, socketId: string): string {
  return `${classId} ${socketId}`;
}

function toStored(m: RosterMember): Stored {
  return {
    c: m.classId,
    s: m.socketId,
    u: m.userId,
    n: m.displayName,
    r: m.role,
    m: m.mode,
    ...(m.attendanceId ? { a: m.attendanceId } : {}),
  };
}

function fromStored(s: Stored): RosterMember {
  return { classId: s.c, socketId: s.s, userId: s.u, displayName: s.n, role: s.r, mode: s.m, attendanceId: s.a };
}
