// The account pages in a real Chromium against the real server and its built app, with the mail a real SMTP
// server receives: confirming an address and resetting a password through the mailed links, and the profile
// page (name, picture, notices, password, the devices list with logging one out, handing a course over and
// deleting the account, whose chat stays, anonymised).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { chatMessages, users } from '../../server/db/schema.ts';
import { appInChromium } from '../helpers/app-in-chromium.ts';
import { contextAs } from '../helpers/browser.ts';
import { registerUser } from '../helpers/http-client.ts';
import { insertClass } from '../helpers/live-class.ts';
import { linkIn, sharedMailCatcher } from '../helpers/mail-catcher.ts';

describe('account pages', () => {
  const app = appInChromium();

  it('confirms an address and resets a forgotten password through the mailed links', async () => {
    const { server, browser } = app;
    const mail = await sharedMailCatcher();
    const person = await registerUser(server.url, 'teacher', 'Rosa Reset', { verify: false });
    const context = await contextAs(browser, server.url, person);
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.getByTestId('confirm-banner').textContent()).toContain(person.user.email);

    const confirm = await mail.waitFor((m) => m.to.includes(person.user.email) && /confirm your email/i.test(m.subject));
    await page.goto(linkIn(confirm, `${server.url}/verify-email`).href);
    await page.getByRole('button', { name: 'Confirm my address' }).click();
    await expect.poll(() => page.getByTestId('verified').count()).toBe(1);
    await page.goto(`${server.url}/`);
    expect(await page.getByTestId('confirm-banner').count()).toBe(0);

    // Forgotten password, from a browser that is not logged in.
    const visitor = await browser.newContext();
    const lost = await visitor.newPage();
    await lost.goto(`${server.url}/login`);
    await lost.getByRole('link', { name: 'Forgot your password?' }).click();
    // The login page has an Email field too: fill the new page's, once it is there.
    await lost.getByRole('heading', { name: 'Forgot your password?' }).waitFor();
    await lost.getByLabel('Email').fill(person.user.email);
    await lost.getByRole('button', { name: 'Send me a link' }).click();
    await expect.poll(() => lost.getByTestId('notice').textContent()).toContain('If an account uses this address');
    const reset = await mail.waitFor((m) => m.to.includes(person.user.email) && /reset your lectern password/i.test(m.subject));
    await lost.goto(linkIn(reset, `${server.url}/reset-password`).href);
    await lost.getByLabel('New password', { exact: true }).fill('a brand new password');
    await lost.getByRole('button', { name: 'Set new password' }).click();
    await lost.waitForURL(`${server.url}/`);
    await expect.poll(() => lost.getByTestId('current-user').textContent()).toContain('Rosa Reset');
    // The first browser's session ended with the reset.
    await page.reload();
    await expect.poll(() => page.getByRole('link', { name: 'Log in' }).count()).toBe(1);
    await Promise.all([context.close(), visitor.close()]);
  });

  it('changes name, picture, notices and password, logs another device out, hands a course over and deletes accounts', async () => {
    const { server, browser } = app;
    const student = await registerUser(server.url, 'student', 'Paula Profile');
    const teacher = await registerUser(server.url, 'teacher', 'Tomas Teacher');
    const successor = await registerUser(server.url, 'teacher', 'Sara Successor');
    const { classId } = await insertClass(server.database.db, {
      teacherId: teacher.user.id,
      studentIds: [student.user.id],
      title: 'A class with chat',
      courseTitle: 'Course to hand over',
      live: true,
    });
    await server.database.db.insert(chatMessages).values({ classId, userId: student.user.id, body: 'Thanks for the class!' });

    const context = await contextAs(browser, server.url, student);
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.getByTestId('current-user').click();
    await page.waitForURL(`${server.url}/profile`);

    // Name
    await page.getByLabel('Display name').fill('Paula P.');
    await page.getByRole('button', { name: 'Save name' }).click();
    await expect.poll(() => page.getByTestId('current-user').textContent()).toContain('Paula P.');

    // Picture: a real PNG from ffmpeg, shown as the server's own 256x256 re-encoding.
    const png = path.join(os.tmpdir(), `lectern-profile-${process.pid}.png`);
    execFileSync('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=400x300',
      '-frames:v',
      '1',
      '-y',
      png,
    ]);
    await page.getByLabel('Picture').setInputFiles(png);
    await page.getByRole('button', { name: 'Upload picture' }).click();
    await expect.poll(() => page.getByTestId('avatar').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(256);
    fs.rmSync(png);

    // Notices
    await page.getByLabel(/Class reminders/).uncheck();
    await expect.poll(async () => (await student.client.get('/api/account/mail-preferences')).body.topics.class_reminders).toBe(false);

    // Another device logs in through the login page; the profile lists it and logs it out.
    const other = await browser.newContext({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' });
    const otherPage = await other.newPage();
    await otherPage.goto(`${server.url}/login`);
    await otherPage.getByLabel('Email').fill(student.user.email);
    await otherPage.getByLabel('Password').fill(student.password);
    await otherPage.getByRole('button', { name: 'Log in' }).click();
    await otherPage.waitForURL(`${server.url}/`);
    await page.reload();
    const firefox = page.getByTestId('session').filter({ hasText: 'Firefox 128 on Linux' });
    await expect.poll(() => firefox.count()).toBe(1);
    await firefox.getByRole('button', { name: 'Log out' }).click();
    await expect.poll(() => page.getByTestId('session').count()).toBe(1);
    await otherPage.reload();
    await expect.poll(() => otherPage.getByRole('link', { name: 'Log in' }).count()).toBe(1);

    // Password: the current one is asked for.
    await page.getByLabel('Current password').fill('not my password');
    await page.getByLabel('New password').fill('another long password');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => page.getByTestId('password-error').textContent()).toContain('not your current password');
    await page.getByLabel('Current password').fill(student.password);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => page.getByTestId('notice').textContent()).toContain('Password changed');

    // Deleting the student's account.
    page.on('dialog', (dialog) => void dialog.accept());
    await page.getByLabel('Your password').fill('another long password');
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.waitForURL(`${server.url}/?deleted=1`);
    await expect.poll(() => page.getByRole('link', { name: 'Log in' }).count()).toBe(1);
    const [row] = await server.database.db.select().from(users).where(eq(users.id, student.user.id));
    expect(row!.displayName).toBe('Deleted user');
    expect(row!.email).not.toBe(student.user.email);
    const chat = await server.database.db.select().from(chatMessages).where(eq(chatMessages.classId, classId));
    expect(chat.map((m) => m.body)).toEqual(['Thanks for the class!']);

    // The teacher hands the course over before deleting.
    const teacherContext = await contextAs(browser, server.url, teacher);
    const teacherPage = await teacherContext.newPage();
    teacherPage.on('dialog', (dialog) => void dialog.accept());
    await teacherPage.goto(`${server.url}/profile`);
    expect(await teacherPage.getByRole('button', { name: 'Delete my account' }).count()).toBe(0);
    await teacherPage.getByLabel("Teacher's email for Course to hand over").fill(successor.user.email);
    await teacherPage.getByRole('button', { name: 'Hand over' }).click();
    await expect.poll(() => teacherPage.getByTestId('notice').textContent()).toContain('Course handed over');
    await teacherPage.getByLabel('Your password').fill(teacher.password);
    await teacherPage.getByRole('button', { name: 'Delete my account' }).click();
    await teacherPage.waitForURL(`${server.url}/?deleted=1`);
    const courses = (await successor.client.get('/api/courses?scope=teaching')).body.items;
    expect(courses.map((c: { title: string }) => c.title)).toEqual(['Course to hand over']);
    await Promise.all([context.close(), other.close(), teacherContext.close()]);
  });
});
