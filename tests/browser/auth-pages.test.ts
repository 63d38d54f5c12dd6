// The register and login pages in a real Chromium against the real server and its built app.
import { describe, expect, it } from 'vitest';
import { appInChromium } from '../helpers/app-in-chromium.ts';

describe('register and login pages', () => {
  const app = appInChromium();

  it('registers a teacher, shows who is logged in, logs out and back in; a wrong password shows an error', async () => {
    const { server, browser } = app;
    const context = await browser.newContext();
    const page = await context.newPage();
    const email = `page-${Date.now()}@example.test`;

    await page.goto(`${server.url}/register`);
    await page.getByLabel('Name').fill('Grace Hopper');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => page.getByText('Password must be at least 10 characters').count()).toBe(1);

    await page.getByLabel('Password').fill('a long enough password');
    await page.getByLabel('Teacher').check();
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${server.url}/`);
    await expect.poll(() => page.getByTestId('current-user').textContent()).toContain('Grace Hopper');
    expect(await page.getByTestId('current-user').textContent()).toContain('teacher');
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'lectern_session')?.httpOnly).toBe(true);

    await page.getByRole('button', { name: 'Log out' }).click();
    await expect.poll(() => page.getByRole('link', { name: 'Log in' }).count()).toBe(1);

    await page.goto(`${server.url}/login`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('the wrong password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => page.getByTestId('form-error').textContent()).toContain('Wrong email or password');

    await page.getByLabel('Password').fill('a long enough password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(`${server.url}/`);
    await expect.poll(() => page.getByTestId('current-user').textContent()).toContain('Grace Hopper');
    await context.close();
  });

  it('sends no password before the page is ready: the server-rendered forms cannot be submitted without their script', async () => {
    const { server, browser } = app;
    // No script at all: the page as the browser has it before hydration, for as long as that takes.
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const asked: string[] = [];
    page.on('request', (request) => asked.push(`${request.method()} ${request.url()}`));
    for (const path of ['/login', '/register', '/reset-password?token=x']) {
      await page.goto(`${server.url}${path}`);
      const button = page.locator('form button[type=submit]');
      expect(await button.isDisabled()).toBe(true);
      expect(await page.locator('form').getAttribute('method')).toBe('post');
      await page.locator('input[type=password]').first().fill('my secret password');
      await page.locator('input[type=password]').first().press('Enter');
      await button.click({ force: true });
      await page.waitForLoadState('load');
      expect(new URL(page.url()).pathname).toBe(path.split('?')[0]);
    }
    expect(asked.filter((r) => r.includes('secret'))).toEqual([]);
    expect(asked.filter((r) => !r.startsWith('GET '))).toEqual([]);
    await context.close();
  });
});
