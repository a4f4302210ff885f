import { apiCall, bubbles, expect, registerAccount, signUpInUi, test } from './fixtures';
import type { Conversation, MessagePage } from '../src/core/types';

test('a message sent while the server is down fails, then arrives exactly once after it is back', async ({
  page,
  server,
}) => {
  test.setTimeout(90_000);
  const alice = await signUpInUi(page, 'alice', 'Alice Archer');
  const bob = await registerAccount(server.url, 'bob', 'Bob Baker');
  const conversation = await apiCall<Conversation>(server.url, bob, 'POST', '/api/conversations', {
    type: 'direct',
    participantIds: [alice.id],
  });
  await page.goto(`/c/${conversation.id}`);
  await expect(page.getByRole('heading', { name: 'Bob Baker' })).toBeVisible();
  const status = page.getByRole('status');
  await expect(status).toHaveAttribute('data-status', 'connected');

  // The server goes away: the bar turns yellow, then red, with the next retry time.
  await server.stop();
  await expect(status).toHaveAttribute('data-status', /reconnecting|offline/);
  await expect(status).toContainText(/in \d+ s/);

  const composer = page.getByRole('textbox', { name: 'Message', exact: true });
  await composer.fill('Sent while the server was down');
  await composer.press('Enter');
  const pending = bubbles(page, 'Sent while the server was down');
  await expect(pending).toHaveAttribute('data-status', 'sending');
  await expect(pending).toHaveAttribute('data-status', 'failed', { timeout: 12_000 });
  // Retry while still offline: back to "sending", waiting in the outbox for the server.
  await pending.getByRole('button', { name: 'Retry' }).click();
  await expect(pending).toHaveAttribute('data-status', 'sending');

  // Back on the same port and data: the client reconnects by itself, resends the outbox
  // with the same clientId, and catches up with what Bob sent meanwhile.
  await server.launch();
  await apiCall(server.url, bob, 'POST', `/api/conversations/${conversation.id}/messages`, {
    clientId: 'bob-1',
    content: 'Sent while you were away',
  });
  await expect(status).toHaveAttribute('data-status', 'connected', { timeout: 20_000 });
  await expect(pending).toHaveAttribute('data-status', 'sent');
  await expect(bubbles(page, 'Sent while you were away')).toHaveCount(1);

  await expect(bubbles(page, 'Sent while the server was down')).toHaveCount(1);
  const history = await apiCall<MessagePage>(
    server.url,
    bob,
    'GET',
    `/api/conversations/${conversation.id}/messages?limit=100`,
  );
  expect(history.items.filter((m) => m.content === 'Sent while the server was down')).toHaveLength(1);

  // A reload shows the same single copy.
  await page.reload();
  await expect(bubbles(page, 'Sent while the server was down')).toHaveCount(1);
});

test('the browser going offline turns the bar red at once, and coming back reconnects', async ({ page }) => {
  await signUpInUi(page, 'roamer', 'Road Warrior');
  const status = page.getByRole('status');
  await page.context().setOffline(true);
  await expect(status).toHaveAttribute('data-status', 'offline');
  await expect(status).toContainText('Offline');
  await page.context().setOffline(false);
  await expect(status).toHaveAttribute('data-status', 'connected');
});

test('with the socket refused, the conversation list still loads over REST and the bar shows the next try', async ({
  page,
  server,
}) => {
  const alice = await registerAccount(server.url, 'alice', 'Alice Archer');
  const bob = await registerAccount(server.url, 'bob', 'Bob Baker');
  await apiCall<Conversation>(server.url, bob, 'POST', '/api/conversations', {
    type: 'direct',
    participantIds: [alice.id],
  });
  // The socket's handshake fails (an answer the client cannot parse); REST is untouched.
  await page.routeWebSocket('**/socket.io/**', (socket) => socket.send('!'));
  await page.goto('/');
  await page.getByLabel('Username or email').fill(alice.username);
  await page.getByLabel('Password').fill(alice.password);
  await page.getByRole('button', { name: 'Sign in' }).click();

  const row = page.locator('.conversation-row', { hasText: 'Bob Baker' });
  await expect(row).toBeVisible();
  await expect(page.getByText('Loading conversations…')).toHaveCount(0);
  const status = page.getByRole('status');
  await expect(status).toHaveAttribute('data-status', /reconnecting|offline/);
  await expect(status).toContainText(/in \d+ s/);
  // Bob's presence is not known while disconnected.
  await expect(row.locator('[data-presence]')).toHaveCount(0);
});
