import { bubbles, expect, screenshotPath, signUpInUi, test } from './fixtures';

test('two people sign up and chat: unread badges, typing, receipts, presence, edits', async ({ browser, server }) => {
  const aliceContext = await browser.newContext({ baseURL: server.url });
  const bobContext = await browser.newContext({ baseURL: server.url });
  const alice = await aliceContext.newPage();
  const bob = await bobContext.newPage();

  await signUpInUi(alice, 'alice', 'Alice Archer');
  const bobAccount = await signUpInUi(bob, 'bob', 'Bob Baker');

  // Alice finds Bob and starts a direct conversation.
  await alice.getByRole('button', { name: 'New conversation' }).click();
  await alice.getByLabel('Message someone').fill(bobAccount.username.slice(0, 5));
  await alice.getByRole('button', { name: /Bob Baker/ }).click();
  await expect(alice.getByRole('heading', { name: 'Bob Baker' })).toBeVisible();
  await expect(alice.getByTestId('conversation-status')).toHaveText('Online');

  // Her first message: at once "sending", then sent.
  await alice.getByRole('textbox', { name: 'Message', exact: true }).fill('Hi Bob! 👋 https://example.com/docs?x=1.');
  await alice.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
  await expect(bubbles(alice, 'Hi Bob!')).toHaveAttribute('data-status', 'sent');
  const link = bubbles(alice, 'Hi Bob!').getByRole('link');
  await expect(link).toHaveAttribute('href', 'https://example.com/docs?x=1');
  await expect(link).toHaveAttribute('rel', 'noopener noreferrer');

  // Bob's list shows it with an unread badge; he has not opened it, so no "Seen" yet.
  const row = bob.locator('.conversation-row', { hasText: 'Alice Archer' });
  await expect(row.getByTestId('unread-badge')).toHaveText('1');
  await expect(row).toContainText('Hi Bob!');
  await expect(alice.getByTestId('seen')).toHaveCount(0);

  // Bob opens it: the badge goes, Alice sees "Seen".
  await row.click();
  await expect(bubbles(bob, 'Hi Bob!')).toBeVisible();
  await expect(row.getByTestId('unread-badge')).toHaveCount(0);
  await expect(alice.getByTestId('seen')).toBeVisible();

  // Bob types: Alice sees the dots with his name, which go once he sends.
  await bob
    .getByRole('textbox', { name: 'Message', exact: true })
    .pressSequentially('Hello <b>Alice</b>', { delay: 20 });
  await expect(alice.getByTestId('typing-indicator')).toContainText('Bob Baker is typing');
  await bob.getByRole('textbox', { name: 'Message', exact: true }).press('Shift+Enter');
  await bob.getByRole('textbox', { name: 'Message', exact: true }).pressSequentially('second line');
  await bob.getByRole('textbox', { name: 'Message', exact: true }).press('Enter');
  const reply = bubbles(alice, 'Hello <b>Alice</b>');
  await expect(reply).toBeVisible();
  await expect(reply.locator('b')).toHaveCount(0);
  await expect(reply.locator('.bubble__text')).toHaveText('Hello <b>Alice</b>\nsecond line');
  await expect(alice.getByTestId('typing-indicator')).not.toContainText('typing');

  // Alice edits and deletes her message; Bob sees both.
  await bubbles(alice, 'Hi Bob!').hover();
  await bubbles(alice, 'Hi Bob!').getByRole('button', { name: 'Edit message' }).click();
  const editor = alice.getByLabel('Edit message', { exact: true });
  await editor.fill('Hi Bob, edited');
  await editor.press('Escape');
  await expect(bubbles(alice, 'Hi Bob!')).toBeVisible();
  await bubbles(alice, 'Hi Bob!').hover();
  await bubbles(alice, 'Hi Bob!').getByRole('button', { name: 'Edit message' }).click();
  await editor.fill('Hi Bob, edited');
  await editor.press('Enter');
  await expect(bubbles(bob, 'Hi Bob, edited')).toContainText('edited');

  // Keyboard only: Arrow Up in the empty composer edits the last message, Escape returns.
  const aliceComposer = alice.getByRole('textbox', { name: 'Message', exact: true });
  await aliceComposer.focus();
  await aliceComposer.press('ArrowUp');
  await expect(editor).toBeFocused();
  await expect(editor).toHaveValue('Hi Bob, edited');
  await editor.press('Escape');
  await expect(aliceComposer).toBeFocused();

  await alice.screenshot({ path: screenshotPath('chat-alice-desktop') });

  alice.once('dialog', (dialog) => void dialog.accept());
  await bubbles(alice, 'Hi Bob, edited').hover();
  await bubbles(alice, 'Hi Bob, edited').getByRole('button', { name: 'Delete message' }).click();
  await expect(bob.getByText('This message was deleted')).toBeVisible();

  // Bob's tab goes to the background: Alice sees him away, then back.
  const setHidden = (hidden: boolean) =>
    bob.evaluate((value) => {
      Object.defineProperty(document, 'visibilityState', { value: value ? 'hidden' : 'visible', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
  await setHidden(true);
  await expect(alice.getByTestId('conversation-status')).toHaveText('Away');
  await setHidden(false);
  await expect(alice.getByTestId('conversation-status')).toHaveText('Online');

  // Bob leaves: Alice sees him go offline with a "last seen".
  await bobContext.close();
  await expect(alice.getByTestId('conversation-status')).toHaveText(/Last seen/, { timeout: 15_000 });

  await aliceContext.close();
});
