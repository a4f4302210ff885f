import { io } from 'socket.io-client';
import { apiCall, expect, registerAccount, signInInUi, test } from './fixtures';
import type { Ack, Conversation, Message } from '../src/core/types';

const TOTAL = 10_000;
// Messages in flight at once while seeding.
const WINDOW = 50;

/**
 * Sends `count` messages, WINDOW at a time, acknowledged; the senders take turns in runs of
 * three, so runs of one sender cross the page boundaries the way real conversations do.
 */
async function seed(url: string, tokens: string[], conversationId: string, count: number): Promise<void> {
  const sockets = tokens.map((token) =>
    io(`${url}/chat`, { auth: { token }, transports: ['websocket'], reconnection: false }),
  );
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve, reject) => {
          socket.once('connect', () => resolve());
          socket.once('connect_error', reject);
        }),
    ),
  );
  try {
    for (let start = 1; start <= count; start += WINDOW) {
      const batch: Promise<Ack<Message>>[] = [];
      for (let n = start; n < Math.min(start + WINDOW, count + 1); n += 1) {
        // Some messages run to several lines, so rows differ in height.
        const content = n % 7 === 0 ? `Message #${n}\n${'A longer message that wraps. '.repeat(6)}` : `Message #${n}`;
        const socket = sockets[Math.floor(n / 3) % sockets.length]!;
        batch.push(
          socket.timeout(30_000).emitWithAck('sendMessage', { conversationId, clientId: `seed-${n}`, content }),
        );
      }
      for (const ack of await Promise.all(batch)) if (!ack.ok) throw new Error(ack.error.message);
    }
  } finally {
    for (const socket of sockets) socket.disconnect();
  }
}

test('10,000 messages scroll back page by page without losing the place', async ({ page, server }) => {
  test.setTimeout(150_000);
  const alice = await registerAccount(server.url, 'alice', 'Alice Archer');
  const bob = await registerAccount(server.url, 'bob', 'Bob Baker');
  const conversation = await apiCall<Conversation>(server.url, bob, 'POST', '/api/conversations', {
    type: 'direct',
    participantIds: [alice.id],
  });
  const seedStarted = Date.now();
  await seed(server.url, [bob.accessToken, alice.accessToken], conversation.id, TOTAL);
  test.info().annotations.push({ type: 'seed', description: `${TOTAL} messages in ${Date.now() - seedStarted} ms` });
  console.log(`seeded ${TOTAL} messages in ${Date.now() - seedStarted} ms`);

  await signInInUi(page, alice);
  await page.goto(`/c/${conversation.id}`);
  const list = page.getByTestId('message-list');
  await expect(list.locator(`[data-seq="${TOTAL}"]`)).toBeInViewport();

  // Older pages answer a little late, so the test can see the view before and after each lands.
  await page.route('**/api/conversations/*/messages?*', async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 30));
    await route.continue();
  });

  // Scroll near the top again and again: each older page lands above without moving what is on screen.
  let pages = 0;
  for (;;) {
    const before = await list.evaluate(async (element) => {
      element.scrollTo({ top: 200 });
      // Let the list render the rows at the new offset.
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      const top = element.getBoundingClientRect().top;
      const rows = [...element.querySelectorAll<HTMLElement>('[data-seq]')];
      const anchor = rows.find((row) => row.getBoundingClientRect().top >= top)!;
      const minSeq = Math.min(...rows.map((row) => Number(row.dataset.seq)));
      // The bubble is what the reader sees; its row's spacing may change as neighbours arrive.
      const y = anchor.querySelector('.bubble')!.getBoundingClientRect().top;
      return { seq: anchor.dataset.seq!, y, minSeq };
    });
    if (before.minSeq === 1) break;
    pages += 1;
    expect(pages, 'pages of 100 to hold 10,000 messages').toBeLessThanOrEqual(TOTAL / 100);
    await page
      .waitForFunction(
        ({ minSeq }) => {
          const rows = document.querySelectorAll<HTMLElement>('[data-testid="message-list"] [data-seq]');
          return [...rows].some((row) => Number(row.dataset.seq) < minSeq);
        },
        before,
        { timeout: 10_000 },
      )
      .catch((error: Error) => {
        throw new Error(`page ${pages} (rows from ${before.minSeq}) did not load: ${error.message}`);
      });
    const y = await list.evaluate(async (element, seq) => {
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      return element.querySelector<HTMLElement>(`[data-seq="${seq}"] .bubble`)?.getBoundingClientRect().top ?? null;
    }, before.seq);
    expect(y, `row ${before.seq} stays in place after page ${pages}`).not.toBeNull();
    expect(Math.abs(y! - before.y), `row ${before.seq} moved after page ${pages}`).toBeLessThan(3);
    if (pages % 10 === 0) expect(await list.locator('.messages__row').count()).toBeLessThan(80);
  }
  expect(pages, 'older pages loaded by scrolling').toBeGreaterThan(90);
  await expect(list.locator('[data-seq="1"]')).toBeVisible();
  expect(await list.locator('.messages__row').count()).toBeLessThan(80);

  // With all 10,000 held, sweeping down the history stays smooth: frame times while
  // scrolling 400 px a frame (generous bounds: a headless browser without a GPU, on a
  // machine shared with another test worker).
  const frames = await list.evaluate(async (element) => {
    const gaps: number[] = [];
    let last = performance.now();
    for (let frame = 0; frame < 120; frame += 1) {
      element.scrollTop += 400;
      await new Promise((resolve) => requestAnimationFrame(resolve));
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }
    gaps.sort((a, b) => a - b);
    return { p95: gaps[Math.floor(gaps.length * 0.95)]!, max: gaps.at(-1)! };
  });
  test.info().annotations.push({
    type: 'scroll frames',
    description: `p95 ${frames.p95.toFixed(1)} ms, max ${frames.max.toFixed(1)} ms`,
  });
  console.log(`scroll frames over 10,000 messages: p95 ${frames.p95.toFixed(1)} ms, max ${frames.max.toFixed(1)} ms`);
  expect(frames.p95).toBeLessThan(100);
  expect(frames.max).toBeLessThan(500);

  // Back at the bottom, a new message keeps the view at the bottom.
  await list.evaluate((element) => element.scrollTo({ top: element.scrollHeight }));
  await expect(list.locator(`[data-seq="${TOTAL}"]`)).toBeInViewport();
  await apiCall(server.url, bob, 'POST', `/api/conversations/${conversation.id}/messages`, {
    clientId: 'late',
    content: 'One more',
  });
  await expect(list.locator(`[data-seq="${TOTAL + 1}"]`)).toBeInViewport();

  // Scrolled up, a new message does not pull the reader away.
  await list.evaluate((element) => element.scrollTo({ top: element.scrollHeight / 2 }));
  await page.waitForTimeout(200);
  const middle = await list.evaluate((element) => element.scrollTop);
  await apiCall(server.url, bob, 'POST', `/api/conversations/${conversation.id}/messages`, {
    clientId: 'later',
    content: 'And another',
  });
  await expect(page.locator('.conversation-row').first()).toContainText('And another');
  expect(Math.abs((await list.evaluate((element) => element.scrollTop)) - middle)).toBeLessThan(4);
});
