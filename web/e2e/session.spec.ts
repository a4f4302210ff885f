import { expect, signUpInUi, test } from './fixtures';

/** Makes the stored access token look due for a refresh, as if 15 minutes had passed. */
async function expireAccessToken(page: import('@playwright/test').Page): Promise<void> {
  await page.evaluate(() => {
    const session = JSON.parse(window.localStorage.getItem('parley.session')!) as { accessExpiresAt: number };
    session.accessExpiresAt = Date.now();
    window.localStorage.setItem('parley.session', JSON.stringify(session));
  });
}

test('tabs share one refresh: the rotated token reaches every tab and the login survives', async ({
  browser,
  server,
}) => {
  const context = await browser.newContext({ baseURL: server.url });
  const first = await context.newPage();
  await signUpInUi(first, 'tabs', 'Tab Tester');
  const second = await context.newPage();
  await second.goto('/');
  await expect(second.getByRole('status')).toHaveAttribute('data-status', 'connected');

  const refreshes: string[] = [];
  context.on('request', (request) => {
    if (request.url().endsWith('/api/auth/refresh')) {
      refreshes.push(
        `${request.frame().page() === first ? 'first' : 'second'} ${request.frame().url()} ${request.postData() ?? ''}`,
      );
    }
  });
  await expireAccessToken(first);
  await Promise.all([first.reload(), second.reload()]);
  await expect(first.getByRole('status')).toHaveAttribute('data-status', 'connected');
  await expect(second.getByRole('status')).toHaveAttribute('data-status', 'connected');
  expect(refreshes).toHaveLength(1);

  // Both tabs hold the same, still valid, pair: another refresh from either works.
  const tokens = await Promise.all(
    [first, second].map((page) => page.evaluate(() => window.localStorage.getItem('parley.session'))),
  );
  expect(tokens[0]).toBe(tokens[1]);
  await context.close();
});

test('a refused refresh ends the session with a clear message; signing out in one tab signs out the others', async ({
  browser,
  server,
}) => {
  const context = await browser.newContext({ baseURL: server.url });
  const page = await context.newPage();
  await signUpInUi(page, 'gone', 'Gone Soon');

  // The login is revoked elsewhere (a sign-out on another device revokes every refresh
  // token of the login); the next refresh is refused.
  const stored = await page.evaluate(
    () => JSON.parse(window.localStorage.getItem('parley.session')!) as { refreshToken: string },
  );
  const logout = await fetch(`${server.url}/api/auth/logout`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refreshToken: stored.refreshToken }),
  });
  expect(logout.status).toBe(204);
  await expireAccessToken(page);
  await page.reload();
  await expect(page.getByRole('alert')).toHaveText('Your session has ended. Please sign in again.');
  await expect(page.getByRole('heading', { name: 'Sign in to Parley' })).toBeVisible();

  const account = await signUpInUi(page, 'again', 'Back Again');
  const other = await context.newPage();
  await other.goto('/');
  await expect(other.getByText(account.displayName).first()).toBeVisible();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(other.getByRole('heading', { name: 'Sign in to Parley' })).toBeVisible();
  await expect(other.getByRole('alert')).toHaveCount(0);
  await context.close();
});
