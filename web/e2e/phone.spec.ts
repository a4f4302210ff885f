import { apiCall, bubbles, expect, registerAccount, signInInUi, test } from './fixtures';
import type { Conversation } from '../src/core/types';

test.use({ viewport: { width: 360, height: 740 }, hasTouch: true, isMobile: true });

test('on a phone, Edit and Delete show on tapping or focusing the message, not beside every one', async ({
  page,
  server,
}) => {
  const alice = await registerAccount(server.url, 'alice', 'Alice Archer');
  const bob = await registerAccount(server.url, 'bob', 'Bob Baker');
  const conversation = await apiCall<Conversation>(server.url, alice, 'POST', '/api/conversations', {
    type: 'direct',
    participantIds: [bob.id],
  });
  for (const content of ['First from Alice', 'Second from Alice'])
    await apiCall(server.url, alice, 'POST', `/api/conversations/${conversation.id}/messages`, {
      clientId: content,
      content,
    });
  await signInInUi(page, alice);
  await page.goto(`/c/${conversation.id}`);

  const first = bubbles(page, 'First from Alice');
  const second = bubbles(page, 'Second from Alice');
  // The room the actions take beside the message.
  const width = async (message: typeof first) => (await message.locator('.message__actions').boundingBox())?.width ?? 0;
  const edit = (message: typeof first) => message.getByRole('button', { name: 'Edit message' });
  await expect(second.locator('.bubble')).toBeVisible();
  expect(await width(first)).toBeLessThanOrEqual(1);
  expect(await width(second)).toBeLessThanOrEqual(1);

  // A tap on the message shows its actions, and only its own.
  await first.locator('.bubble').tap();
  await expect.poll(() => width(first)).toBeGreaterThan(10);
  expect(await width(second)).toBeLessThanOrEqual(1);

  // The keyboard still reaches them: focused, they show.
  await second.getByRole('button', { name: 'Delete message' }).focus();
  await expect.poll(() => width(second)).toBeGreaterThan(10);
  await edit(second).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('textbox', { name: 'Edit message' })).toBeVisible();
});
