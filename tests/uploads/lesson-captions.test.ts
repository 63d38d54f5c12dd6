// Captions of a lesson video in real Chromium: the teacher uploads a .vtt on the lesson page (a student may
// not; a broken file is refused with the line that is wrong), the track is served with the lesson's media token
// to those who may watch, and the enrolled student's player has it as its text track, showing, with its cues.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appInChromium } from '../helpers/app-in-chromium.ts';
import { contextAs, firstTextTrack } from '../helpers/browser.ts';
import { registerPeople } from '../helpers/people.ts';
import { makeVideo, uploadLessonVideo } from '../helpers/lesson-video.ts';

const VTT = 'WEBVTT\n\n00:00.300 --> 00:01.500\nBonjour et bienvenue\n\n00:01.600 --> 00:02.800\n<b>Les lentilles</b> dévient la lumière\n';

describe('lesson video captions', () => {
  const app = appInChromium();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-lesson-captions-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('takes the teacher’s upload on the lesson page and plays it as the student’s text track', async () => {
    const { server, browser } = app;
    const { teacher, student, outsider } = await registerPeople(server);
    const courseId = (await teacher.client.post('/api/courses', { title: 'Optique' })).body.course.id;
    const lessonId = (await teacher.client.post(`/api/courses/${courseId}/lessons`, { title: 'Les lentilles' })).body.lesson.id;
    await teacher.client.patch(`/api/courses/${courseId}`, { published: true });
    expect((await student.client.post(`/api/courses/${courseId}/enrollment`)).status).toBe(201);
    const upload = await uploadLessonVideo(server.url, teacher.client, lessonId, fs.readFileSync(makeVideo(tmp, 'lesson.mp4', 4)));
    expect(upload.status).toBe(202);
    await expect
      .poll(async () => (await teacher.client.get(`/api/lessons/${lessonId}/video`)).body.video.status, { timeout: 90_000, interval: 250 })
      .toBe('ready');
    const captionsFile = path.join(tmp, 'lentilles.vtt');
    fs.writeFileSync(captionsFile, VTT);
    const brokenFile = path.join(tmp, 'broken.vtt');
    fs.writeFileSync(brokenFile, 'WEBVTT\n\n00:02.000 --> 00:01.000\nbackwards\n');

    // Students may not upload captions.
    const refused = await student.client.request('PUT', `/api/lessons/${lessonId}/captions?name=mine.vtt`, VTT, {
      origin: server.url,
      'content-type': 'application/octet-stream',
    });
    expect(refused.status).toBe(403);

    // The teacher uploads on the lesson page: a broken file first, then the right one.
    const teacherContext = await contextAs(browser, server.url, teacher);
    const t = await teacherContext.newPage();
    await t.goto(`${server.url}/courses/${courseId}/lessons/${lessonId}`);
    const control = t.getByTestId('caption-upload');
    await control.locator('summary').click({ timeout: 30_000 });
    await control.getByLabel('Caption file (.vtt or .srt)').setInputFiles(brokenFile);
    await control.getByRole('button', { name: 'Upload captions' }).click();
    await expect.poll(() => control.getByRole('status').textContent()).toContain('Line 3: the cue ends before it starts');
    await control.getByLabel('Caption file (.vtt or .srt)').setInputFiles(captionsFile);
    await control.getByLabel('Language').fill('fr');
    await control.getByLabel('Label').fill('Français');
    await control.getByRole('button', { name: 'Upload captions' }).click();
    await expect.poll(() => control.getByRole('status').textContent()).toBe('Captions saved (2 cues).');
    await teacherContext.close();

    // Served as WebVTT with the student's signed link; an outsider's own link is refused.
    const lesson = (await student.client.get(`/api/lessons/${lessonId}`)).body;
    expect(lesson.captions).toMatchObject({ language: 'fr', label: 'Français', cues: 2 });
    const track = await fetch(`${server.url}${lesson.captions.url}`);
    expect(track.status).toBe(200);
    expect(track.headers.get('content-type')).toBe('text/vtt; charset=utf-8');
    expect(lesson.captions.url).toMatch(new RegExp(`^/media/t/[^/?]+/lessons/${lessonId}/captions\\.vtt$`));
    const outsiderToken = encodeURIComponent(server.mediaAccess.sign({ kind: 'lesson', id: lessonId }, outsider.user.id).token);
    expect((await fetch(`${server.url}/media/t/${outsiderToken}/lessons/${lessonId}/captions.vtt`)).status).toBe(403);
    // The older ?token= form still answers (pages opened before path tokens), for the student, not the outsider.
    const studentToken = encodeURIComponent(decodeURIComponent(lesson.captions.url.split('/')[3]));
    expect((await fetch(`${server.url}/media/lessons/${lessonId}/captions.vtt?token=${studentToken}`)).status).toBe(200);
    expect((await fetch(`${server.url}/media/lessons/${lessonId}/captions.vtt?token=${outsiderToken}`)).status).toBe(403);

    // The student's lesson player: the track, showing, with the uploaded cues (markup kept as WebVTT styling).
    const studentContext = await contextAs(browser, server.url, student);
    const s = await studentContext.newPage();
    await s.goto(`${server.url}/courses/${courseId}/lessons/${lessonId}`);
    await s.getByTestId('captions-track').waitFor({ state: 'attached', timeout: 30_000 });
    const cues = () => firstTextTrack(s);
    await expect.poll(cues, { timeout: 30_000, interval: 250 }).toEqual({
      kind: 'subtitles',
      label: 'Français',
      language: 'fr',
      mode: 'showing',
      cues: ['Bonjour et bienvenue', '<b>Les lentilles</b> dévient la lumière'],
    });
    // The captions follow the video: at 2 s the second cue is the active one.
    await s.getByTestId('hls-video').evaluate((v) => {
      (v as HTMLVideoElement).pause();
      (v as HTMLVideoElement).currentTime = 2;
    });
    await expect
      .poll(() => s.evaluate(() => [...(document.querySelector('video')!.textTracks[0]!.activeCues ?? [])].map((c) => (c as VTTCue).text)))
      .toEqual(['<b>Les lentilles</b> dévient la lumière']);
    await studentContext.close();
  });
});
