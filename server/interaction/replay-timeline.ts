// A replay's timeline: the class's chat, questions and polls and its chapters, each placed at the moment of
// the replay it happened (through the recording's runs, hls/replay-clock.ts), as one viewer may see them; the
// chapters as a WebVTT chapters track; and the chapter edits made on the replay (positions in replay time).
import {
  TIMELINE_LIMITS,
  type ChapterCreate,
  type ChapterUpdate,
  type ReplayChapter,
  type ReplayTimeline,
  type TimelineItem,
} from '../contracts/timeline.ts';
import type { ClassChapterRow, Recording } from '../db/schema.ts';
import { DomainError } from '../domain-error.ts';
import { renderWebVtt } from '../hls/caption-file.ts';
import type { Recordings } from '../hls/recordings.ts';
import { ReplayClock } from '../hls/replay-clock.ts';
import { readRunTimes } from '../hls/run-output.ts';
import type { MediaStorage } from '../storage/media-storage.ts';
import type { Interaction } from './interaction.ts';
import { PollBook } from './poll-book.ts';
import { QuestionBoard } from './question-board.ts';

/** A recording and its class. */
type ReplayRef = Pick<Recording, 'id' | 'classId'>;

export interface ReplayTimelinesOptions {
  recordings: Pick<Recordings, 'location'>;
  /** Where a recording's files are: this machine while it is made, the object store once uploaded. */
  storage: Pick<MediaStorage, 'readText'>;
  interaction: Pick<Interaction, 'chat' | 'questions' | 'polls' | 'chapters'>;
  /** Told when the chapters of a replay were edited (its MP4 carries them: it is made again). */
  onChaptersChanged?: (recordingId: string) => void;
}

export class ReplayTimelines {
  readonly #o: ReplayTimelinesOptions;

  constructor(options: ReplayTimelinesOptions) {
    this.#o = options;
  }

  /** The replay's clock from its runs on disk; throws while it has no media. */
  async clock(recordingId: string): Promise<ReplayClock> {
    const where = await this.#o.recordings.location(recordingId);
    const times = where && (await readRunTimes((name) => this.#o.storage.readText(`${where.prefix}/${name}`)));
    if (!times) throw new DomainError('invalid_state', 'The replay has no media yet');
    return new ReplayClock(times.runs, times.createdAt);
  }

  /** Everything of the class beside its replay, as this viewer may see it (staff: anonymous authors, all results). */
  async timeline(recording: ReplayRef, viewer: { staff: boolean }): Promise<Omit<ReplayTimeline, 'chapterTrackUrl'>> {
    const { chat, questions, polls, chapters } = this.#o.interaction;
    const classId = recording.classId;
    const clock = await this.clock(recording.id);
    const offset = (at: Date | string) => clock.offsetOf(at instanceof Date ? at : new Date(at));
    const [transcript, asked, pollRecords, chapterRows] = await Promise.all([
      chat.transcript(classId, TIMELINE_LIMITS.chatMessages),
      questions.list(classId, { includeDismissed: false }),
      polls.list(classId),
      chapters.list(classId),
    ]);
    const items: TimelineItem[] = transcript.messages.map((message) => ({
      kind: 'chat',
      id: message.id,
      atSeconds: offset(message.createdAt),
      message,
    }));
    const inOrder = asked.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    for (const q of inOrder.slice(0, TIMELINE_LIMITS.questions)) {
      items.push({
        kind: 'question',
        id: q.id,
        atSeconds: offset(q.createdAt),
        question: QuestionBoard.view(q, viewer),
        answeredAtSeconds: q.answeredAt ? offset(q.answeredAt) : null,
      });
    }
    for (const record of pollRecords) {
      const poll = PollBook.view(record, await polls.results(record), viewer);
      items.push({
        kind: 'poll',
        id: poll.id,
        atSeconds: offset(record.poll.createdAt),
        poll,
        closedAtSeconds: record.poll.closedAt ? offset(record.poll.closedAt) : null,
      });
    }
    // Stable: at one moment, in the order they were made.
    const made = (i: TimelineItem) =>
      i.kind === 'chat' ? i.message.createdAt : i.kind === 'question' ? i.question.createdAt : i.poll.createdAt;
    items.sort((a, b) => a.atSeconds - b.atSeconds || made(a).localeCompare(made(b)));
    return {
      recordingId: recording.id,
      durationSeconds: clock.durationSeconds,
      gaps: clock.gaps(),
      chapters: placeChapters(chapterRows, clock),
      items,
      truncated: transcript.truncated || inOrder.length > TIMELINE_LIMITS.questions,
    };
  }

  async chapters(recording: ReplayRef): Promise<ReplayChapter[]> {
    return placeChapters(await this.#o.interaction.chapters.list(recording.classId), await this.clock(recording.id));
  }

  /** The chapters as a WebVTT chapters track (each cue from its chapter to the next, the last to the end); null for none. */
  async chapterTrack(recording: ReplayRef): Promise<string | null> {
    const clock = await this.clock(recording.id);
    const chapters = placeChapters(await this.#o.interaction.chapters.list(recording.classId), clock);
    const endMs = Math.round(clock.durationSeconds * 1000);
    const cues = chapters
      .map((c, i) => ({
        startMs: Math.round(c.atSeconds * 1000),
        endMs: Math.round((chapters[i + 1]?.atSeconds ?? clock.durationSeconds) * 1000),
        settings: '',
        text: escapeCueText(c.title),
      }))
      // Two chapters at one moment (both in a gap): the later one names it.
      .filter((c) => c.endMs > c.startMs && c.startMs < endMs);
    return cues.length ? renderWebVtt(cues) : null;
  }

  async addChapter(recording: ReplayRef, userId: string, input: ChapterCreate): Promise<ReplayChapter> {
    const clock = await this.clock(recording.id);
    const row = await this.#o.interaction.chapters.add(recording.classId, userId, input.title, clock.wallClockAt(input.atSeconds));
    this.#o.onChaptersChanged?.(recording.id);
    return placeChapter(row, clock);
  }

  async updateChapter(recording: ReplayRef, chapterId: string, change: ChapterUpdate): Promise<ReplayChapter> {
    const clock = await this.clock(recording.id);
    const row = await this.#o.interaction.chapters.update(recording.classId, chapterId, {
      title: change.title,
      at: change.atSeconds === undefined ? undefined : clock.wallClockAt(change.atSeconds),
    });
    this.#o.onChaptersChanged?.(recording.id);
    return placeChapter(row, clock);
  }

  async removeChapter(recording: ReplayRef, chapterId: string): Promise<void> {
    await this.#o.interaction.chapters.remove(recording.classId, chapterId);
    this.#o.onChaptersChanged?.(recording.id);
  }
}

function placeChapter(row: ClassChapterRow, clock: ReplayClock): ReplayChapter {
  return { id: row.id, title: row.title, atSeconds: clock.offsetOf(row.at) };
}

function placeChapters(rows: readonly ClassChapterRow[], clock: ReplayClock): ReplayChapter[] {
  return rows.map((r) => placeChapter(r, clock)).sort((a, b) => a.atSeconds - b.atSeconds);
}

/** A title as WebVTT cue text: markup characters as entities (the title is plain text). */
function escapeCueText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
