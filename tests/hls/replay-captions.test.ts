// Captions of a replay: the class's teacher uploads an .srt (kept as WebVTT), bad files and other people are
// refused, the track is served with the replay's token and access, and the replay page in Chromium plays it
// as the video's text track with the uploaded cues.
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { liveClasses } from '../../server/db/schema.ts';
import { appInChromium } from '../helpers/app-in-chromium.ts';
import { firstTextTrack } from '../helpers/browser.ts';
import type { RegisteredUser } from '../helpers/http-client.ts';
import { registerPeople } from '../helpers/people.ts';
import { recordClass } from '../helpers/recorded-class.ts';

const SRT = '1\n00:00:00,200 --> 00:00:01,500\nWelcome to optics\n\n2\n00:00:01,600 --> 00:00:02,800\nLenses bend light\n';

describe('replay captions', () => {
  const app = appInChromium();

  it('keeps an uploaded .srt as WebVTT, serves it to those who may watch, and the replay page shows it', async () => {
    const { server, browser } = app;
    const { teacher, student, outsider } = await registerPeople(server);
    const courseId = (await teacher.client.post('/api/courses', { title: 'Captioned optics' })).body.course.id;
    await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Lenses' });
    await teacher.client.patch(`/api/courses/${courseId}`, { published: true });
    expect((await student.client.post(`/api/courses/${courseId}/enrollment`)).status).toBe(201);
    const [klass] = await server.db
      .insert(liveClasses)
      .values({ courseId, teacherId: teacher.user.id, title: 'Lenses, live', scheduledAt: new Date(Date.now() - 600_000), status: 'ended' })
      .returning();
    const recording = await recordClass(server, klass!.id, 3);
    const endpoint = `/api/media/recordings/${recording.id}/captions`;
    const upload = (who: RegisteredUser, query: string, body: string) =>
      who.client.request('PUT', `${endpoint}?${query}`, body, { origin: server.url, 'content-type': 'application/octet-stream' });

    // Refused: not a caption file, a broken one, too large, someone who is not the teacher.
    const wrongKind = await upload(teacher, 'name=notes.txt', SRT);
    expect([wrongKind.status, wrongKind.body.error.message]).toEqual([400, 'Captions must be a .vtt or .srt file']);
    const broken = await upload(teacher, 'name=lecture.srt', '1\n00:00:02,000 --> 00:00:01,000\nbackwards\n');
    expect(broken.status).toBe(400);
    expect(broken.body.error.message).toMatch(/Line 2: the cue ends before it starts/);
    expect((await upload(teacher, 'name=big.vtt', `WEBVTT\n\n${'x'.repeat(1024 * 1024)}`)).status).toBe(413);
    expect((await upload(teacher, 'name=lecture.srt&language=not%20a%20tag', SRT)).status).toBe(400);
    expect((await upload(student, 'name=lecture.srt', SRT)).status).toBe(403);
    expect((await student.client.get(`/api/media/recordings/${recording.id}`)).body.captions).toBeNull();

    const saved = await upload(teacher, 'name=lecture.srt&language=en&label=English', SRT);
    expect(saved.status).toBe(200);
    expect(saved.body.captions).toMatchObject({ language: 'en', label: 'English', cues: 2 });

    // Served as WebVTT with the student's signed link; an outsider's own link to it is refused.
    const view = (await student.client.get(`/api/media/recordings/${recording.id}`)).body;
    expect(view.canEdit).toBe(false);
    const track = await fetch(`${server.url}${view.captions.url}`);
    expect(track.status).toBe(200);
    expect(track.headers.get('content-type')).toBe('text/vtt; charset=utf-8');
    expect(await track.text()).toBe(
      'WEBVTT\n\n00:00:00.200 --> 00:00:01.500\nWelcome to optics\n\n00:00:01.600 --> 00:00:02.800\nLenses bend light\n',
    );
    const outsiderToken = server.mediaAccess.sign({ kind: 'recording', id: recording.id }, outsider.user.id).token;
    expect((await fetch(`${server.url}/media/recordings/${recording.id}/captions.vtt?token=${outsiderToken}`)).status).toBe(403);
    expect((await fetch(`${server.url}/media/recordings/${recording.id}/captions.vtt`)).status).toBe(403);

    // The replay page: the video has the track, showing, with the uploaded cues.
    const context = await browser.newContext();
    const [name, value] = student.client.cookieHeader.split('=') as [string, string];
    await context.addCookies([{ name, value, url: server.url }]);
    const page = await context.newPage();
    await page.goto(`${server.url}/replays/${recording.id}`);
    await page.getByTestId('captions-track').waitFor({ state: 'attached', timeout: 30_000 });
    const cues = () => firstTextTrack(page);
    await expect.poll(cues, { timeout: 30_000, interval: 250 }).toEqual({
      kind: 'subtitles',
      label: 'English',
      language: 'en',
      mode: 'showing',
      cues: ['Welcome to optics', 'Lenses bend light'],
    });
    await context.close();

    // Removing the track: gone from the view and from the media route.
    expect((await teacher.client.request('DELETE', endpoint, undefined, { origin: server.url })).status).toBe(200);
    expect((await student.client.get(`/api/media/recordings/${recording.id}`)).body.captions).toBeNull();
    expect((await fetch(`${server.url}${view.captions.url}`)).status).toBe(404);
    expect((await server.db.select().from(liveClasses).where(eq(liveClasses.id, klass!.id))).length).toBe(1);
  });
});
