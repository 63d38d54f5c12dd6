// The side panel's state for one joined class: the snapshot from `interaction:sync`, kept current by the
// server's broadcasts, plus unread counts per tab. One instance per join; destroy() detaches every listener
// and timer it created.
import { SvelteSet } from 'svelte/reactivity';
import type { ClassJoined } from '@lectern/contracts/realtime';
import {
  InteractionEvents as E,
  InteractionRequests as R,
  type ChatMessage,
  type Poll,
  type PollCreate,
  type PollResults,
  type Question,
  type RaisedHand,
  type Reaction,
  type ReactionShown,
} from '@lectern/contracts/interaction';
import type { RequestName, RequestPayload, RequestResult, ServerToClientEvents } from '@lectern/contracts/protocol';
import { listen, request, RequestError, type ClassSocket } from '#lib/realtime/socket.ts';

export type PanelTab = 'chat' | 'questions' | 'polls';

/** How long a reaction floats on the teacher's screen. */
const REACTION_MS = 4000;

export class ClassInteraction {
  readonly socket: ClassSocket;
  readonly joined: ClassJoined;
  readonly staff: boolean;
  readonly myId: string;

  loaded = $state(false);
  messages = $state<ChatMessage[]>([]);
  hasMoreChat = $state(false);
  questions = $state<Question[]>([]);
  polls = $state<Poll[]>([]);
  hands = $state<RaisedHand[]>([]);
  reactions = $state<(ReactionShown & { key: number })[]>([]);
  ballots = $state<Record<string, string[]>>({});
  muted = $state(false);
  removed = $state(false);
  asked = new SvelteSet<string>();
  voted = new SvelteSet<string>();
  tab = $state<PanelTab>('chat');
  unread = $state<Record<PanelTab, number>>({ chat: 0, questions: 0, polls: 0 });
  /** The last failure to show near the panel (e.g. "Slow down"). */
  notice = $state<string | null>(null);

  /** Removes each socket listener this panel added. */
  readonly #unlisten: (() => void)[] = [];
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #reactionKey = 0;
  #destroyed = false;

  constructor(socket: ClassSocket, joined: ClassJoined) {
    this.socket = socket;
    this.joined = joined;
    this.staff = joined.role === 'teacher' || joined.role === 'admin';
    this.myId = joined.user.id;
    this.#listen(E.chatMessages, (batch: ChatMessage[]) => this.#onChat(...batch));
    this.#listen(E.chatDeleted, ({ messageId }: { messageId: string }) => {
      this.messages = this.messages.map((m) => (m.id === messageId ? { ...m, body: '', deleted: true } : m));
    });
    this.#listen(E.questionUpdated, (q: Question) => this.#onQuestion(q));
    this.#listen(E.questionRemoved, ({ questionId }: { questionId: string }) => {
      this.questions = this.questions.filter((q) => q.id !== questionId);
    });
    this.#listen(E.pollUpdated, (p: Poll) => this.#onPoll(p));
    this.#listen(E.pollResults, (r: PollResults) => {
      this.polls = this.polls.map((p) => (p.id === r.pollId ? { ...p, results: r } : p));
    });
    this.#listen(E.handsChanged, ({ hands }: { hands: RaisedHand[] }) => (this.hands = hands));
    this.#listen(E.reactionShown, (r: ReactionShown) => this.#onReaction(r));
    this.#listen(E.moderationMuted, ({ userId, muted }: { userId: string; muted: boolean }) => {
      if (userId === this.myId) {
        this.muted = muted;
        this.notice = muted ? 'The teacher muted you: you can read the chat but not write.' : 'The teacher unmuted you.';
      }
    });
    this.#listen(E.moderationRemoved, ({ userId }: { userId: string }) => {
      if (userId === this.myId) this.removed = true;
    });
  }

  get raisedHand(): boolean {
    return this.hands.some((h) => h.userId === this.myId);
  }

  /** Pinned first, then open questions by votes and time, then answered ones. */
  get sortedQuestions(): Question[] {
    const byVotes = (a: Question, b: Question) => b.votes - a.votes || a.createdAt.localeCompare(b.createdAt);
    const pinned = this.questions.filter((q) => q.pinned);
    const open = this.questions.filter((q) => !q.pinned && q.status === 'open').sort(byVotes);
    const answered = this.questions.filter((q) => !q.pinned && q.status === 'answered').sort(byVotes);
    const dismissed = this.questions.filter((q) => !q.pinned && q.status === 'dismissed').sort(byVotes);
    return [...pinned, ...open, ...answered, ...dismissed];
  }

  async sync(): Promise<void> {
    const snapshot = await this.#call(R.sync, {});
    if (!snapshot || this.#destroyed) return;
    this.messages = snapshot.chat.messages;
    this.hasMoreChat = snapshot.chat.hasMore;
    this.questions = snapshot.questions;
    this.polls = snapshot.polls;
    this.hands = snapshot.hands;
    this.muted = snapshot.me.muted;
    this.ballots = snapshot.me.ballots;
    this.asked.clear();
    for (const id of snapshot.me.askedQuestionIds) this.asked.add(id);
    this.voted.clear();
    for (const id of snapshot.me.votedQuestionIds) this.voted.add(id);
    this.loaded = true;
  }

  select(tab: PanelTab): void {
    this.tab = tab;
    this.unread[tab] = 0;
  }

  // ---- chat ----
  async sendChat(body: string): Promise<boolean> {
    const message = await this.#call(R.chatSend, { body });
    if (message) this.#onChat(message);
    return message !== undefined;
  }

  async loadOlderChat(): Promise<void> {
    const first = this.messages[0];
    if (!first || !this.hasMoreChat) return;
    const page = await this.#call(R.chatHistory, { before: first.id });
    if (!page) return;
    const known = new Set(this.messages.map((m) => m.id));
    this.messages = [...page.messages.filter((m) => !known.has(m.id)), ...this.messages];
    this.hasMoreChat = page.hasMore;
  }

  deleteMessage(messageId: string): Promise<unknown> {
    return this.#call(R.chatDelete, { messageId });
  }

  // ---- Q&A ----
  async ask(body: string, anonymous: boolean): Promise<boolean> {
    const q = await this.#call(R.questionAsk, { body, anonymous });
    if (q) {
      this.asked.add(q.id);
      this.#onQuestion(q);
    }
    return q !== undefined;
  }

  async toggleVote(q: Question): Promise<void> {
    const voting = !this.voted.has(q.id);
    const updated = await this.#call(voting ? R.questionVote : R.questionUnvote, { questionId: q.id });
    if (!updated) return;
    if (voting) this.voted.add(q.id);
    else this.voted.delete(q.id);
  }

  moderateQuestion(action: 'answer' | 'reopen' | 'dismiss', questionId: string): Promise<unknown> {
    const event = action === 'answer' ? R.questionAnswer : action === 'reopen' ? R.questionReopen : R.questionDismiss;
    return this.#call(event, { questionId });
  }

  pin(questionId: string, pinned: boolean): Promise<unknown> {
    return this.#call(R.questionPin, { questionId, pinned });
  }

  // ---- polls ----
  async createPoll(input: PollCreate): Promise<boolean> {
    const poll = await this.#call(R.pollCreate, input);
    if (poll) this.#onPoll(poll);
    return poll !== undefined;
  }

  async vote(pollId: string, optionIds: string[]): Promise<boolean> {
    const done = await this.#call(R.pollVote, { pollId, optionIds });
    if (done) this.ballots = { ...this.ballots, [pollId]: done.optionIds };
    return done !== undefined;
  }

  closePoll(pollId: string): Promise<unknown> {
    return this.#call(R.pollClose, { pollId });
  }

  showResults(pollId: string, show: boolean): Promise<unknown> {
    return this.#call(R.pollShowResults, { pollId, show });
  }

  // ---- hands, reactions, moderation ----
  async toggleHand(): Promise<void> {
    const result = await this.#call(this.raisedHand ? R.handLower : R.handRaise, {});
    if (result) this.hands = result.hands;
  }

  async lowerHand(userId: string): Promise<void> {
    const result = await this.#call(R.handLower, { userId });
    if (result) this.hands = result.hands;
  }

  async lowerAllHands(): Promise<void> {
    const result = await this.#call(R.handLowerAll, {});
    if (result) this.hands = result.hands;
  }

  react(reaction: Reaction): Promise<unknown> {
    return this.#call(R.reactionSend, { reaction });
  }

  mute(userId: string, muted: boolean): Promise<unknown> {
    return this.#call(R.moderationMute, { userId, muted });
  }

  removeStudent(userId: string): Promise<unknown> {
    return this.#call(R.moderationRemove, { userId });
  }

  destroy(): void {
    this.#destroyed = true;
    for (const off of this.#unlisten.splice(0)) off();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  // ---- internals ----
  #listen<E extends keyof ServerToClientEvents>(event: E, listener: ServerToClientEvents[E]): void {
    this.#unlisten.push(listen(this.socket, event, listener));
  }

  /** Sends a request; a refusal becomes the panel's notice and resolves undefined. */
  async #call<E extends RequestName>(event: E, payload: RequestPayload<E>): Promise<RequestResult<E> | undefined> {
    try {
      const data = await request(this.socket, event, payload);
      this.notice = null;
      return data;
    } catch (err) {
      this.notice = err instanceof RequestError || err instanceof Error ? err.message : String(err);
      return undefined;
    }
  }

  #bump(tab: PanelTab): void {
    if (this.tab !== tab) this.unread[tab] += 1;
  }

  /** New messages (oldest first; a busy chat sends several at once): one update of the list for the batch. */
  #onChat(...batch: ChatMessage[]): void {
    const known = new Set(this.messages.map((x) => x.id));
    const fresh = batch.filter((m) => !known.has(m.id) && known.add(m.id));
    if (fresh.length === 0) return;
    this.messages = [...this.messages, ...fresh];
    for (const m of fresh) if (m.author.id !== this.myId) this.#bump('chat');
  }

  #onQuestion(q: Question): void {
    const known = this.questions.some((x) => x.id === q.id);
    this.questions = known ? this.questions.map((x) => (x.id === q.id ? q : x)) : [...this.questions, q];
    if (!known && !this.asked.has(q.id)) this.#bump('questions');
  }

  #onPoll(p: Poll): void {
    const known = this.polls.some((x) => x.id === p.id);
    this.polls = known ? this.polls.map((x) => (x.id === p.id ? p : x)) : [p, ...this.polls];
    if (!known && !this.staff) this.#bump('polls');
  }

  #onReaction(r: ReactionShown): void {
    const key = ++this.#reactionKey;
    this.reactions = [...this.reactions.slice(-19), { ...r, key }];
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.reactions = this.reactions.filter((x) => x.key !== key);
    }, REACTION_MS);
    this.#timers.add(timer);
  }
}
