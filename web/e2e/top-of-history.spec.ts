import { io } from 'socket.io-client';
import { apiCall, expect, registerAccount, signInInUi, test } from './fixtures';
import type { Ack, Conversation, Message } from '../src/core/types';
import type { Locator, Page } from '@playwright/test';

const TOTAL = 2_000;
const WINDOW = 50;

async function seed(url: string, token: string, conversationId: string, count: number): Promise<void> {
  const socket = io(`${url}/chat`, { auth: { token }, transports: ['websocket'], reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  try {
    for (let start = 1; start <= count; start += WINDOW) {
      const batch: Promise<Ack<Message>>[] = [];
      for (let n = start; n < Math.min(start + WINDOW, count + 1); n += 1) {
        batch.push(
          socket
            .timeout(30_000)
            .emitWithAck('sendMessage', { conversationId, clientId: `seed-${n}`, content: `Message #${n}` }),
        );
      }
      for (const ack of await Promise.all(batch)) if (!ack.ok) throw new Error(ack.error.message);
    }
  } finally {
    socket.disconnect();
  }
}

/** The seq of the first message row whose bubble is within the list's viewport. */
async function topVisibleSeq(list: Locator): Promise<number> {
  return list.evaluate(async (element) => {
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    const top = element.getBoundingClientRect().top;
    const rows = [...element.querySelectorAll<HTMLElement>('[data-seq]')].sort(
      (a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top,
    );
    return Number(rows.find((row) => row.getBoundingClientRect().top >= top)!.dataset.seq);
  });
}

async function minHeldSeq(page: Page): Promise<number> {
  return page.evaluate(() =>
    Math.min(
      ...[...document.querySelectorAll<HTMLElement>('[data-testid="message-list"] [data-seq]')].map((row) =>
        Number(row.dataset.seq),
      ),
    ),
  );
}

test('reaching the top of a long history loads one page and keeps the place', async ({ page, server }) => {
  test.setTimeout(90_000);
  const alice = await registerAccount(server.url, 'alice', 'Alice Archer');
  const bob = await registerAccount(server.url, 'bob', 'Bob Baker');
  const conversation = await apiCall<Conversation>(server.url, bob, 'POST', '/api/conversations', {
    type: 'direct',
    participantIds: [alice.id],
  });
  await seed(server.url, bob.accessToken, conversation.id, TOTAL);

  const olderPages: string[] = [];
  await page.route('**/api/conversations/*/messages?*', async (route) => {
    if (route.request().url().includes('before=')) olderPages.push(route.request().url());
    // Late enough that the test sees the view before each page lands.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await route.continue();
  });

  await signInInUi(page, alice);
  await page.goto(`/c/${conversation.id}`);
  const list = page.getByTestId('message-list');
  await expect(list.locator(`[data-seq="${TOTAL}"]`)).toBeInViewport();
  await page.waitForTimeout(1_000);
  const opened = olderPages.length;

  // Straight to the top, as when dragging the scrollbar there.
  await list.evaluate((element) => {
    element.scrollTop = 0;
  });
  const first = await topVisibleSeq(list);
  await expect.poll(() => minHeldSeq(page)).toBeLessThan(first);
  await page.waitForTimeout(1_000);
  expect(olderPages, 'one older page').toHaveLength(opened + 1);
  await expect(list.locator(`[data-seq="${first}"]`)).toBeInViewport();

  // Big wheel steps up until the list hits the top.
  await list.hover();
  const second = await minHeldSeq(page);
  for (let step = 0; step < 20; step += 1) {
    if (olderPages.length > opened + 1 || (await list.evaluate((element) => element.scrollTop)) === 0) break;
    await page.mouse.wheel(0, -2_000);
    await page.waitForTimeout(50);
  }
  const atTop = await topVisibleSeq(list);
  await expect.poll(() => minHeldSeq(page)).toBeLessThan(second);
  await page.waitForTimeout(1_000);
  expect(olderPages, 'one more older page').toHaveLength(opened + 2);
  await expect(list.locator(`[data-seq="${atTop}"]`)).toBeInViewport();
});
