// Recordings made before a class had one replay: a class restarted mid-way then got two recordings (two rows,
// two directories). At start-up they become one: the later one's runs move into the first (renumbered after
// its runs, joined with a discontinuity, the break between them on the replay's timeline), the replay is
// finalised again with its MP4, and the later row and directory go. Running it again changes nothing.
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import HLS from 'hls-parser';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplayView } from '../../server/contracts/media.ts';
import type { ReplayTimeline } from '../../server/contracts/timeline.ts';
import { liveClasses, recordings, type Recording } from '../../server/db/schema.ts';
import { MASTER_FILE, RunOutput } from '../../server/hls/run-output.ts';
import { SEGMENT_SECONDS } from '../../server/hls/ladder.ts';
import { registerPeople, type People } from '../helpers/people.ts';
import { downloadMade, recordInto } from '../helpers/recorded-class.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const exec = promisify(execFile);

describe('recordings of one class made before it had one replay', () => {
  let server: TestServer;
  let people: People;
  let classId: string;
  const dirOf = (r: Pick<Recording, 'playlistPath'>) => path.dirname(path.join(server.dataDir, r.playlistPath));

  /** A recording as older versions made one: its own row and directory, one run, finalised. */
  async function oldRecording(seconds: number, startedAt: Date): Promise<Recording> {
    const id = crypto.randomUUID();
    const playlistPath = path.join('recordings', id, MASTER_FILE);
    await server.db.insert(recordings).values({ id, classId, playlistPath, status: 'recording', createdAt: startedAt });
    const output = await RunOutput.create(dirOf({ playlistPath }), { classId, segmentSeconds: SEGMENT_SECONDS });
    await recordInto(server.config.ffmpegPath, output, [{ seconds, startedAt }]);
    const row = await server.recordings.finalise(id);
    expect(row?.status).toBe('ready');
    return downloadMade(server, id);
  }

  beforeAll(async () => {
    server = await startTestServer();
    people = await registerPeople(server);
    const { teacher, student } = people;
    const courseId = (await teacher.client.post('/api/courses', { title: 'Joined' })).body.course.id;
    await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Optics' });
    expect((await teacher.client.patch(`/api/courses/${courseId}`, { published: true })).status).toBe(200);
    expect((await student.client.post(`/api/courses/${courseId}/enrollment`)).status).toBe(201);
    const [row] = await server.db
      .insert(liveClasses)
      .values({ courseId, teacherId: teacher.user.id, title: 'Restarted', scheduledAt: new Date(Date.now() - 3600_000), status: 'ended' })
      .returning();
    classId = row!.id;
  });
  afterAll(() => server?.stop());

  it('joins them into the first, one replay with both parts, and leaves nothing of the second', async () => {
    const start = new Date(Date.now() - 120_000);
    const first = await oldRecording(3, start);
    const second = await oldRecording(2, new Date(start.getTime() + 10_000));
    expect(await server.recordings.ofClass(classId)).toHaveLength(2);

    expect(await server.recordings.joinDuplicates()).toBe(1);
    const rows = await server.db.select().from(recordings).where(eq(recordings.classId, classId));
    expect(rows.map((r) => r.id)).toEqual([first.id]);
    expect(fs.existsSync(dirOf(second))).toBe(false);
    const joined = await downloadMade(server, first.id);
    expect(joined.status).toBe('ready');
    expect(joined.durationSeconds).toBe(5);

    // What a member sees: one replay, its playlist joining both runs, the break marked where the second begins.
    const { student } = people;
    const listed = await student.client.get(`/api/media/classes/${classId}/recordings`);
    expect(listed.body.recordings.map((r: { id: string }) => r.id)).toEqual([first.id]);
    const view = (await student.client.get(`/api/media/recordings/${first.id}`)).body as ReplayView;
    const base = `${server.url}${view.recording.playlistUrl!.replace(/master\.m3u8$/, '')}`;
    const master = HLS.parse(await (await fetch(`${server.url}${view.recording.playlistUrl}`)).text()) as HLS.types.MasterPlaylist;
    const vod = HLS.parse(await (await fetch(`${base}${master.variants[0]!.uri}`)).text()) as HLS.types.MediaPlaylist;
    expect(vod.segments).toHaveLength(5);
    expect(vod.segments.map((s) => s.discontinuity === true)).toEqual([false, false, false, true, false]);
    const rung = master.variants[0]!.uri.split('/')[0];
    for (const s of vod.segments) expect((await fetch(`${base}${rung}/${s.uri}`)).status).toBe(200);
    const timeline = (await student.client.get(`/api/media/recordings/${first.id}/timeline`)).body as ReplayTimeline;
    expect(timeline.gaps).toHaveLength(1);
    expect(timeline.gaps[0]!.atSeconds).toBeCloseTo(3, 0);
    expect(timeline.gaps[0]!.seconds).toBeCloseTo(7, 0);

    // Its MP4 is made again, with both parts.
    expect(joined.downloadStatus).toBe('ready');
    const { stdout } = await exec('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'format=duration',
      '-of',
      'json',
      path.join(dirOf(first), 'download.mp4'),
    ]);
    expect(Math.abs(Number(JSON.parse(stdout).format.duration) - 5) / 5).toBeLessThan(0.05);

    // Again: nothing left to join.
    expect(await server.recordings.joinDuplicates()).toBe(0);
    expect((await server.recordings.byId(first.id))!.durationSeconds).toBe(5);
  });
});
