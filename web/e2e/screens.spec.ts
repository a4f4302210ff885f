import { apiCall, expect, registerAccount, screenshotPath, signInInUi, test } from './fixtures';
import type { Conversation } from '../src/core/types';

// The main screens, light and dark, desktop and phone, kept as test artifacts.
test('main screens, light and dark, desktop and phone', async ({ browser, server }) => {
  const maya = await registerAccount(server.url, 'maya', 'Maya Lindqvist');
  const sam = await registerAccount(server.url, 'sam', 'Sam Okafor');
  const lea = await registerAccount(server.url, 'lea', 'Léa Martin');
  const omar = await registerAccount(server.url, 'omar', 'Omar Haddad');
  const direct = await apiCall<Conversation>(server.url, sam, 'POST', '/api/conversations', {
    type: 'direct',
    participantIds: [maya.id],
  });
  const group = await apiCall<Conversation>(server.url, lea, 'POST', '/api/conversations', {
    type: 'group',
    name: 'Design review',
    participantIds: [maya.id, omar.id],
  });
  await apiCall<Conversation>(server.url, omar, 'POST', '/api/conversations', {
    type: 'direct',
    participantIds: [maya.id],
  });

  const say = (who: typeof maya, conversation: Conversation, content: string) =>
    apiCall(server.url, who, 'POST', `/api/conversations/${conversation.id}/messages`, {
      clientId: crypto.randomUUID(),
      content,
    });
  await say(lea, group, 'New mockups are up: https://example.com/mockups/v3 🎨');
  await say(omar, group, 'مرحبا! The spacing looks much better now.');
  await say(sam, direct, 'Are we still on for the walkthrough at 3?');
  await say(maya, direct, 'Yes! I will bring the notes from Monday.');
  await say(
    sam,
    direct,
    'Great. Could you also check the onboarding copy? Supercalifragilisticexpialidociousishly long words should wrap nicely.',
  );
  await say(maya, direct, 'On it 👍');
  await say(sam, direct, 'Thanks 🙏');

  const signedOut = await browser.newContext({ baseURL: server.url, colorScheme: 'light' });
  const signIn = await signedOut.newPage();
  await signIn.goto('/');
  await expect(signIn.getByRole('heading', { name: 'Sign in to Parley' })).toBeVisible();
  await signIn.screenshot({ path: screenshotPath('sign-in') });
  await signedOut.close();

  for (const scheme of ['light', 'dark'] as const) {
    const context = await browser.newContext({
      baseURL: server.url,
      colorScheme: scheme,
      viewport: { width: 1280, height: 800 },
    });
    const page = await context.newPage();
    await signInInUi(page, maya);
    await page.goto(`/c/${direct.id}`);
    await expect(page.getByTestId('message-list').getByText('Thanks 🙏')).toBeVisible();
    await page.screenshot({ path: screenshotPath(`desktop-conversation-${scheme}`) });
    if (scheme === 'light') {
      await page.getByRole('button', { name: 'New conversation' }).click();
      await page.getByRole('tab', { name: 'New group' }).click();
      await page.getByLabel('Group name').fill('Launch');
      await page.getByLabel('Add people').fill(lea.username.slice(0, 3));
      await expect(page.getByRole('button', { name: /Léa Martin/ })).toBeVisible();
      await page.screenshot({ path: screenshotPath('desktop-new-group') });
    }
    await context.close();
  }

  const phone = await browser.newContext({
    baseURL: server.url,
    viewport: { width: 360, height: 740 },
    isMobile: true,
    hasTouch: true,
    deviceScaleFactor: 2,
  });
  const page = await phone.newPage();
  await signInInUi(page, maya);
  await expect(page.locator('.conversation-row')).toHaveCount(3);
  await page.screenshot({ path: screenshotPath('phone-list') });
  await page.locator('.conversation-row', { hasText: 'Design review' }).click();
  await expect(page.getByTestId('message-list').getByText('The spacing looks much better now.')).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Conversation list' })).toBeHidden();
  await page.screenshot({ path: screenshotPath('phone-conversation') });
  await page.getByRole('button', { name: 'Back to conversations' }).click();
  await expect(page.locator('.conversation-row')).toHaveCount(3);
  await phone.close();
});
