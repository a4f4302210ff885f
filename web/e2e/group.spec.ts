import { bubbles, expect, registerAccount, signUpInUi, test } from './fixtures';

test('a group: create, read receipts by name, rename, remove and add people, leave', async ({ browser, server }) => {
  const aliceContext = await browser.newContext({ baseURL: server.url });
  const bobContext = await browser.newContext({ baseURL: server.url });
  const alice = await aliceContext.newPage();
  const bob = await bobContext.newPage();
  await signUpInUi(alice, 'alice', 'Alice Archer');
  const bobAccount = await signUpInUi(bob, 'bob', 'Bob Baker');
  const carol = await registerAccount(server.url, 'carol', 'Carol Chen');
  const dan = await registerAccount(server.url, 'dan', 'Dan Diaz');

  // Alice creates the group with Bob and Carol.
  await alice.getByRole('button', { name: 'New conversation' }).click();
  await alice.getByRole('tab', { name: 'New group' }).click();
  await alice.getByLabel('Group name').fill('Weekend plans');
  const search = alice.getByLabel('Add people');
  await search.fill(bobAccount.username);
  await alice.getByRole('button', { name: /Bob Baker/ }).click();
  await search.fill(carol.username);
  await alice.getByRole('button', { name: /Carol Chen/ }).click();
  await alice.getByRole('button', { name: 'Create group' }).click();
  await expect(alice.getByRole('heading', { name: 'Weekend plans' })).toBeVisible();
  await expect(alice.getByTestId('conversation-status')).toHaveText('3 members');

  const composer = alice.getByRole('textbox', { name: 'Message', exact: true });
  await composer.fill("Who's in for Saturday?");
  await composer.press('Enter');

  // Bob sees it unread, opens it; Alice sees who has read up to where.
  const bobRow = bob.locator('.conversation-row', { hasText: 'Weekend plans' });
  await expect(bobRow.getByTestId('unread-badge')).toHaveText('1');
  await bobRow.click();
  await expect(bubbles(bob, "Who's in for Saturday?")).toContainText('Alice Archer');
  await expect(bubbles(alice, "Who's in for Saturday?").getByTestId('readers')).toHaveText('Seen by Bob Baker');

  // Alice renames it and removes Carol; Bob sees both.
  await alice.getByRole('button', { name: 'Details' }).click();
  const details = alice.getByRole('complementary', { name: 'Group details' });
  await details.getByLabel('Group name').fill('Weekend trip');
  await details.getByRole('button', { name: 'Rename' }).click();
  await expect(bob.getByRole('heading', { name: 'Weekend trip' })).toBeVisible();
  await details.getByRole('button', { name: 'Remove Carol Chen' }).click();
  await expect(bob.getByTestId('conversation-status')).toHaveText('2 members');
  await details.getByRole('button', { name: 'Add people' }).click();
  await details.getByLabel('Add people').fill(dan.username);
  await details.getByRole('button', { name: /Dan Diaz/ }).click();
  await details.getByRole('button', { name: 'Add 1' }).click();
  await expect(bob.getByTestId('conversation-status')).toHaveText('3 members');

  // Bob leaves: it goes from his list, and Alice's group has one member.
  bob.once('dialog', (dialog) => void dialog.accept());
  await bob.getByRole('button', { name: 'Details' }).click();
  await bob.getByRole('button', { name: 'Leave group' }).click();
  await expect(bob.locator('.conversation-row', { hasText: 'Weekend trip' })).toHaveCount(0);
  await expect(alice.getByTestId('conversation-status')).toHaveText('2 members');

  await aliceContext.close();
  await bobContext.close();
});
