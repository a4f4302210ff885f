/** Test fixtures: one Parley server per worker, and helpers that act as a user would. */
import { test as base, expect, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ParleyServer } from './server';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SCREENSHOTS = path.resolve(here, '../e2e-artifacts/screenshots');

export const test = base.extend<object, { server: ParleyServer }>({
  server: [
    // eslint-disable-next-line no-empty-pattern -- Playwright fixtures take their dependencies as a destructured object
    async ({}, use) => {
      const server = await ParleyServer.start();
      await use(server);
      await server.dispose();
    },
    { scope: 'worker' },
  ],
  baseURL: async ({ server }, use) => {
    await use(server.url);
  },
});

export { expect };

let counter = 0;
/** A username unique within the run: the server is shared by a worker's tests. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}

export interface Account {
  id: string;
  username: string;
  displayName: string;
  password: string;
  accessToken: string;
}

/** Registers through the API (fast), for people the test does not drive through the UI. */
export async function registerAccount(baseURL: string, prefix: string, displayName?: string): Promise<Account> {
  const username = uniqueName(prefix);
  const password = 'correct horse battery';
  const response = await fetch(`${baseURL}/api/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      username,
      email: `${username}@example.com`,
      password,
      displayName: displayName ?? username,
    }),
  });
  expect(response.status).toBe(201);
  const body = (await response.json()) as { user: { id: string; displayName: string }; accessToken: string };
  return { id: body.user.id, username, displayName: body.user.displayName, password, accessToken: body.accessToken };
}

export async function apiCall<T>(
  baseURL: string,
  account: Account,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${baseURL}${urlPath}`, {
    method,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${account.accessToken}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${urlPath}: ${response.status} ${await response.text()}`);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

/** Signs up through the sign-up form. */
export async function signUpInUi(page: Page, prefix: string, displayName: string): Promise<Account> {
  const username = uniqueName(prefix);
  const password = 'correct horse battery';
  await page.goto('/');
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(`${username}@example.com`);
  await page.getByLabel('Display name (optional)').fill(displayName);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.getByRole('status')).toHaveAttribute('data-status', 'connected');
  const stored = await page.evaluate(() => window.localStorage.getItem('parley.session'));
  const session = JSON.parse(stored ?? '{}') as { user: { id: string }; accessToken: string };
  return { id: session.user.id, username, displayName, password, accessToken: session.accessToken };
}

/** Signs in through the form. */
export async function signInInUi(page: Page, account: Account): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Username or email').fill(account.username);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('status')).toHaveAttribute('data-status', 'connected');
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return path.join(SCREENSHOTS, `${name}.png`);
}

/** The bubbles of a conversation that contain `text`, confirmed or pending. */
export function bubbles(page: Page, text: string) {
  return page.getByTestId('message-list').locator('.message', { hasText: text });
}
