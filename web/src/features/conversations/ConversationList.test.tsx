// @vitest-environment jsdom
import { act, cleanup, render, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatContext } from '../../app/chatContext';
import { ChatClient, type ChatApi, type ChatLink } from '../../core/chatClient';
import type { Conversation } from '../../core/types';
import { FakeClock } from '../../test/fakeClock';
import { BOB, CAROL, ME, conversation, message, participant } from '../../test/factories';
import { ConversationList } from './ConversationList';

afterEach(cleanup);

async function renderList(conversations: Conversation[]) {
  const api = { listConversations: async () => ({ items: conversations, nextCursor: null }) } as unknown as ChatApi;
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
});
