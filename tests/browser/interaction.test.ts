// The class side panel in real Chromium against the real server and its built app: the teacher starts a poll
// from the studio, a student asks a question, votes and chats from the classroom; the teacher's page shows
// the question (with an unread badge on its tab) and the poll's updated bar, and chat stays plain text.
import { describe, expect, it } from 'vitest';
import { appInChromium } from '../helpers/app-in-chromium.ts';
import { contextAs } from '../helpers/browser.ts';
import { registerUser, type RegisteredUser } from '../helpers/http-client.ts';
import { createLiveClass } from '../realtime/class-fixture.ts';

describe('class panel in the browser', () => {
  const app = appInChromium();
  const contextFor = (person: RegisteredUser) => contextAs(app.browser, app.server.url, person, { viewport: { width: 1400, height: 900 } });

  it("a student asks and votes; the teacher's page shows the question and the updated bar", async () => {
    const { server } = app;
    const teacher = await registerUser(server.url, 'teacher', 'Grace Teacher');
    const student = await registerUser(server.url, 'student', 'Linus Student');
    const classId = await createLiveClass(server.db, teacher, [student], 'Panel class');

    const teacherPage = await (await contextFor(teacher)).newPage();
    const studentPage = await (await contextFor(student)).newPage();
    await teacherPage.goto(`${server.url}/studio/${classId}`);
    await studentPage.goto(`${server.url}/classes/${classId}`);
    const teacherPanel = teacherPage.getByTestId('class-panel');
    const studentPanel = studentPage.getByTestId('class-panel');
    await teacherPanel.waitFor();
    await studentPanel.waitFor();

    // The teacher starts a poll from the Polls tab (reached with the keyboard: arrow keys move between tabs).
    await teacherPanel.getByRole('tab', { name: 'Chat' }).focus();
    await teacherPage.keyboard.press('ArrowLeft');
    await expect.poll(() => teacherPanel.getByRole('tab', { name: 'Polls' }).getAttribute('aria-selected')).toBe('true');
    await teacherPanel.getByRole('button', { name: 'New poll' }).click();
    await teacherPanel.getByLabel('Question').fill('Which topic next?');
    await teacherPanel.getByLabel('Option 1').fill('Closures');
    await teacherPanel.getByLabel('Option 2').fill('Generators');
    await teacherPanel.getByRole('button', { name: 'Start poll' }).click();
    await expect.poll(() => teacherPanel.getByTestId('poll').count()).toBe(1);
    const bar = (option: string) => teacherPanel.locator(`[data-testid="poll-bar"][data-option="${option}"]`);
    expect(await bar('Generators').getAttribute('data-votes')).toBe('0');

    // The student sees a new poll (unread badge), asks a question and votes.
    await expect.poll(() => studentPanel.getByTestId('unread-polls').textContent()).toContain('1');
    await studentPanel.getByRole('tab', { name: /Q&A/ }).click();
    await studentPanel.getByLabel('Your question').fill('Will generators be on the exam?');
    await studentPanel.getByRole('button', { name: 'Ask' }).click();
    await expect.poll(() => studentPanel.getByTestId('question-body').allTextContents()).toEqual(['Will generators be on the exam?']);
    await studentPanel.getByRole('tab', { name: /Polls/ }).click();
    await studentPanel.getByRole('radio', { name: 'Generators' }).check();
    await studentPanel.getByRole('button', { name: 'Vote' }).click();
    await expect.poll(() => studentPanel.getByText('Thanks, your vote is in.').count()).toBe(1);
    expect(await studentPanel.getByText('The teacher has not shared the results.').count()).toBe(1);

    // The teacher's bar moves; the Q&A tab shows an unread badge and the question with the student's name.
    await expect.poll(() => bar('Generators').getAttribute('data-votes')).toBe('1');
    expect(await bar('Closures').getAttribute('data-votes')).toBe('0');
    expect(await bar('Generators').textContent()).toContain('1 (100%)');
    await expect.poll(() => teacherPanel.getByTestId('unread-questions').textContent()).toContain('1');
    await teacherPanel.getByRole('tab', { name: /Q&A/ }).click();
    await expect.poll(() => teacherPanel.getByTestId('question-body').allTextContents()).toEqual(['Will generators be on the exam?']);
    expect(await teacherPanel.getByTestId('question').textContent()).toContain('Linus Student');

    // Showing the results reaches the student's page as bars.
    await teacherPanel.getByRole('tab', { name: /Polls/ }).click();
    await teacherPanel.getByRole('button', { name: 'Show results to students' }).click();
    await expect
      .poll(() => studentPanel.locator('[data-testid="poll-bar"][data-option="Generators"]').getAttribute('data-votes'))
      .toBe('1');

    // Chat is text, never HTML: markup a student types arrives as characters.
    const markup = '<img src=x onerror="document.title=\'pwned\'"> https://example.org';
    await studentPanel.getByRole('tab', { name: /Chat/ }).click();
    await studentPanel.getByLabel('Message').fill(markup);
    await studentPanel.getByLabel('Message').press('Enter');
    await teacherPanel.getByRole('tab', { name: /Chat/ }).click();
    await expect.poll(() => teacherPanel.getByTestId('chat-message').last().textContent()).toContain(markup);
    expect(await teacherPanel.getByTestId('chat-messages').locator('img').count()).toBe(0);
    expect(await teacherPage.title()).not.toBe('pwned');

    // A raised hand shows in the teacher's queue.
    await studentPanel.getByTestId('hand-toggle').click();
    await expect.poll(() => teacherPanel.getByTestId('raised-hand').allTextContents()).toEqual([expect.stringContaining('Linus Student')]);
  });
});
