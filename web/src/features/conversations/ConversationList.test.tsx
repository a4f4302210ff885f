// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChatContext } from '../../app/chatContext';
import { ChatClient, type ChatApi, type ChatLink } from '../../core/chatClient';
import type { Conversation } from '../../core/types';
import { FakeClock } from '../../test/fakeClock';
import { BOB, CAROL, ME, conversation, message, participant } from '../../test/factories';
import { ConversationList } from './ConversationList';
import { GroupDetails } from './GroupDetails';

afterEach(cleanup);

async function renderList(conversations: Conversation[]) {
  return renderWithApi({
    listConversations: async () => ({ items: conversations, nextCursor: null }),
  } as unknown as ChatApi);
}

/** The list of a signed-in user whose server answers through `api`, with no socket. */
async function renderWithApi(api: ChatApi) {
  const link: ChatLink = {
    connected: false,
    retryNow: () => undefined,
    request: () => Promise.reject(new Error('offline')),
  };
  const me = {
    id: ME,
    username: 'me',
    displayName: 'Me Myself',
    email: 'me@example.com',
    avatarUrl: null,
    createdAt: '',
    updatedAt: '',
  };
  const client = new ChatClient({ me, api, link, clock: new FakeClock() });
  await client.loadConversations();
  const view = render(
    <ChatContext.Provider value={client}>
      <ConversationList selectedId={null} />
    </ChatContext.Provider>,
  );
  return { client, view };
}

describe('ConversationList', () => {
  it('lists newest activity first, with unread badges, previews and presence', async () => {
    const { view } = await renderList([
      conversation({
        id: 'older',
        lastActivityAt: '2026-12-04T09:00:00.000Z',
        participants: [participant(ME), participant(BOB, 0, { displayName: 'Bob Baker', presence: 'away' })],
        lastMessage: message(1, { conversationId: 'older', senderId: ME, content: 'see you' }),
      }),
      conversation({
        id: 'newer',
        type: 'group',
        name: 'Team',
        lastActivityAt: '2026-12-04T10:00:00.000Z',
        participants: [participant(ME), participant(CAROL, 0, { displayName: 'Carol Chen' })],
        lastMessage: message(4, { conversationId: 'newer', senderId: CAROL, content: 'standup?' }),
        unreadCount: 3,
      }),
    ]);
    const rows = view.getAllByRole('link');
    expect(rows.map((row) => row.getAttribute('data-conversation-id'))).toEqual(['newer', 'older']);
    expect(within(rows[0]!).getByTestId('unread-badge').textContent).toBe('3');
    expect(rows[0]!.textContent).toContain('Carol: standup?');
    expect(rows[1]!.textContent).toContain('You: see you');
    expect(within(rows[1]!).queryByTestId('unread-badge')).toBeNull();
    expect(rows[1]!.querySelector('[data-presence]')?.getAttribute('data-presence')).toBe('away');
  });

  it('moves a conversation to the top and counts it unread when a message arrives', async () => {
    const { client, view } = await renderList([
      conversation({ id: 'a', lastActivityAt: '2026-12-04T09:00:00.000Z' }),
      conversation({ id: 'b', lastActivityAt: '2026-12-04T10:00:00.000Z' }),
    ]);
    act(() => client.receiveMessage(message(1, { conversationId: 'a', createdAt: '2026-12-04T11:00:00.000Z' })));
    const rows = view.getAllByRole('link');
    expect(rows.map((row) => row.getAttribute('data-conversation-id'))).toEqual(['a', 'b']);
    expect(within(rows[0]!).getByTestId('unread-badge').textContent).toBe('1');
  });

  it('shows older conversations on request when the list has more pages', async () => {
    // Six pages of one conversation each, newest first; the client loads four at start.
    const api = {
      listConversations: async (before: string | null) => {
        const page = before === null ? 0 : Number(before);
        const item = conversation({
          id: `c${page}`,
          lastActivityAt: new Date(Date.UTC(2026, 11, 4, 12 - page)).toISOString(),
        });
        return { items: [item], nextCursor: page < 5 ? String(page + 1) : null };
      },
    } as unknown as ChatApi;
    const { view } = await renderWithApi(api);
    expect(view.getAllByRole('link')).toHaveLength(4);
    await act(async () => fireEvent.click(view.getByRole('button', { name: 'Show older conversations' })));
    expect(view.getAllByRole('link').map((row) => row.getAttribute('data-conversation-id'))).toEqual([
      'c0',
      'c1',
      'c2',
      'c3',
      'c4',
    ]);
    await act(async () => fireEvent.click(view.getByRole('button', { name: 'Show older conversations' })));
    expect(view.getAllByRole('link')).toHaveLength(6);
    expect(view.queryByRole('button', { name: 'Show older conversations' })).toBeNull();
  });

  it('gives presence dots a text alternative', async () => {
    const { view } = await renderList([
      conversation({ participants: [participant(ME), participant(BOB, 0, { displayName: 'Bob', presence: 'away' })] }),
    ]);
    expect(view.getByRole('link').querySelector('[data-presence]')?.textContent).toBe('away');
  });

  it('starts the keyboard at the conversation list, and Escape in the new-conversation panel returns to +', async () => {
    const { view } = await renderList([conversation()]);
    expect(document.activeElement).toBe(view.getByRole('navigation', { name: 'Conversation list' }));
    const plus = view.getByRole('button', { name: 'New conversation' });
    fireEvent.click(plus);
    const panel = view.getByRole('region', { name: 'New conversation' });
    fireEvent.keyDown(within(panel).getByRole('tab', { name: 'New group' }), { key: 'Escape' });
    expect(view.queryByRole('region', { name: 'New conversation' })).toBeNull();
    expect(document.activeElement).toBe(plus);
  });
});

describe('GroupDetails', () => {
  it('takes focus when opened, so Escape closes it', async () => {
    const { client } = await renderList([]);
    const onClose = vi.fn();
    const view = render(
      <ChatContext.Provider value={client}>
        <GroupDetails
          conversation={conversation({
            type: 'group',
            name: 'Team',
            participants: [participant(ME), participant(BOB)],
          })}
          onClose={onClose}
        />
      </ChatContext.Provider>,
    );
    const panel = view.getByRole('complementary', { name: 'Group details' });
    expect(panel.contains(document.activeElement)).toBe(true);
    fireEvent.keyDown(document.activeElement!, { key: 'Escape' });
    expect(onClose).toHaveBeenCalledOnce();
  });
});
