import { describe, expect, it } from 'vitest';
import { FakeClock } from '../test/fakeClock';
import { BOB, ME, conversation, message, participant } from '../test/factories';
import { ChatClient, type ChatApi, type ChatLink } from './chatClient';
import type { Ack, Message, MessagePage, OwnUser } from './types';

const me: OwnUser = {
  id: ME,
  username: 'me',
  displayName: 'Me',
  email: 'me@example.com',
  avatarUrl: null,
  createdAt: '',
  updatedAt: '',
};

/** The server as the client sees it: one conversation whose history the test controls. */
function setUp(history: Message[]) {
  const clock = new FakeClock();
  const server = {
    history,
    connected: true,
    syncCalls: [] as number[],
    sent: [] as { clientId: string; content: string }[],
  };
  // The user has read up to seq 3; the server counts the rest as unread.
  const current = () =>
    conversation({
      lastSeq: server.history.at(-1)?.seq ?? 0,
      participants: [participant(ME, 3), participant(BOB, 0)],
      unreadCount: server.history.filter((m) => m.seq > 3 && m.senderId !== ME).length,
    });

  const api = {
    listConversations: async () => ({ items: [current()], nextCursor: null }),
    getConversation: async () => current(),
    olderMessages: async (_id: string, before: number | null, limit = 100): Promise<MessagePage> => {
      const below = server.history.filter((m) => before === null || m.seq < before);
      const items = below.slice(-limit).reverse();
      return { items, hasMore: below.length > limit };
    },
  } as unknown as ChatApi;

  const link: ChatLink = {
    get connected() {
      return server.connected;
    },
    retryNow: () => undefined,
    async request<T>(event: string, payload: unknown): Promise<Ack<T>> {
      if (!server.connected) throw new Error('not connected');
      if (event === 'sync') {
        const { afterSeq, limit } = payload as { afterSeq: number; limit: number };
        server.syncCalls.push(afterSeq);
        const above = server.history.filter((m) => m.seq > afterSeq);
        return { ok: true, data: { items: above.slice(0, limit), hasMore: above.length > limit } as T };
      }
      if (event === 'sendMessage') {
        const { clientId, content, conversationId } = payload as {
          clientId: string;
          content: string;
          conversationId: string;
        };
        const existing = server.history.find((m) => m.senderId === ME && m.clientId === clientId);
        if (existing) return { ok: true, data: existing as T };
        server.sent.push({ clientId, content });
        const stored = message((server.history.at(-1)?.seq ?? 0) + 1, {
          senderId: ME,
          clientId,
          content,
          conversationId,
        });
        server.history.push(stored);
        return { ok: true, data: stored as T };
      }
      return { ok: true, data: {} as T };
    },
  };
  const client = new ChatClient({ me, api, link, clock });
  return { client, server, clock };
}

const seqs = (client: ChatClient) => client.getState().timelines['conversation-1']?.messages.map((m) => m.seq);

describe('ChatClient without a socket', () => {
  it('loads the conversation list over REST while the socket cannot connect', async () => {
    const { client, server } = setUp([message(1), message(2)]);
    server.connected = false;
    client.connectionChanged({ status: 'reconnecting', nextRetryAt: 1_000, failures: 1 });
    await client.start();
    expect(client.getState().conversationsLoaded).toBe(true);
    expect(Object.keys(client.getState().conversations)).toEqual(['conversation-1']);
    expect(client.getState().connection.status).toBe('reconnecting');
  });

  it('tries the list again on the next connection state while it has not loaded', async () => {
    const { client } = setUp([message(1)]);
    const api = (client as unknown as { deps: { api: ChatApi } }).deps.api;
    const listConversations = api.listConversations.bind(api);
    let failures = 1;
    api.listConversations = (...args) =>
      failures-- > 0 ? Promise.reject(new Error('down')) : listConversations(...args);
    await client.start();
    expect(client.getState().conversationsLoaded).toBe(false);
    client.connectionChanged({ status: 'reconnecting', nextRetryAt: 2_000, failures: 2 });
    await client.start();
    expect(client.getState().conversationsLoaded).toBe(true);
  });
});

describe('ChatClient catch-up', () => {
  it('on reconnect asks sync from the last seq held and merges without duplicates', async () => {
    const { client, server } = setUp([message(1), message(2), message(3)]);
    await client.loadConversations();
    await client.openConversation('conversation-1');
    expect(seqs(client)).toEqual([1, 2, 3]);

    // Offline: three messages arrive on the server; one of them also arrives live, late.
    server.connected = false;
    server.history.push(message(4), message(5), message(6));
    server.connected = true;
    client.receiveMessage(message(5));
    await client.connected();
    expect(server.syncCalls).toContain(3);
    expect(seqs(client)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(client.getState().conversations['conversation-1']?.unreadCount).toBe(3);

    // A duplicate live event afterwards changes nothing.
    const before = client.getState();
    client.receiveMessage(message(6));
    expect(seqs(client)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(client.getState().conversations['conversation-1']?.unreadCount).toBe(
      before.conversations['conversation-1']?.unreadCount,
    );
  });

  it('on reconnect picks up edits and deletions made while it was away', async () => {
    const { client, server } = setUp([message(1), message(2)]);
    await client.loadConversations();
    await client.openConversation('conversation-1');
    server.history[0] = message(1, { content: 'changed', editedAt: '2026-12-04T12:30:00.000Z' });
    server.history[1] = message(2, { content: '', deletedAt: '2026-12-04T12:31:00.000Z' });
    await client.connected();
    const held = client.getState().timelines['conversation-1']!.messages;
    expect(held.map((m) => [m.content, m.deletedAt !== null])).toEqual([
      ['changed', false],
      ['', true],
    ]);
  });

  it('fills a hole when a live message jumps ahead', async () => {
    const { client, server } = setUp([message(1), message(2)]);
    await client.loadConversations();
    await client.openConversation('conversation-1');
    server.history.push(message(3), message(4));
    client.receiveMessage(message(4));
    await new Promise((resolve) => setTimeout(resolve, 0));
    await client.catchUpConversation('conversation-1');
    expect(seqs(client)).toEqual([1, 2, 3, 4]);
    expect(server.syncCalls[0]).toBe(2);
  });

  it('resends the outbox on reconnect with the same clientId, so the message is stored once', async () => {
    const { client, server, clock } = setUp([message(1)]);
    await client.loadConversations();
    await client.openConversation('conversation-1');
    server.connected = false;
    client.send('conversation-1', 'while offline');
    clock.advance(10_000);
    expect(client.getState().outbox['conversation-1']?.[0]?.status).toBe('failed');

    server.connected = true;
    await client.connected();
    await client.connected(); // a second reconnect before anything else happened
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(server.sent.map((s) => s.content)).toEqual(['while offline']);
    expect(client.getState().outbox['conversation-1'] ?? []).toEqual([]);
    expect(
      client.getState().timelines['conversation-1']?.messages.filter((m) => m.content === 'while offline'),
    ).toHaveLength(1);
  });

  it('forgets conversations left while disconnected when the reloaded list is complete', async () => {
    const { client } = setUp([message(1)]);
    await client.loadConversations();
    await client.openConversation('conversation-1');
    client.conversationUpdated({ ...conversation({ id: 'gone', participants: [participant(ME), participant(BOB)] }) });
    expect(client.getState().conversations['gone']).toBeDefined();
    await client.connected();
    expect(client.getState().conversations['gone']).toBeUndefined();
    expect(client.getState().timelines['conversation-1']).toBeDefined();
  });

  it('forgets a conversation the user was removed from', async () => {
    const { client } = setUp([message(1)]);
    await client.loadConversations();
    const held = client.getState().conversations['conversation-1']!;
    client.conversationUpdated({ ...held, participants: [participant(BOB)], participantCount: 1 });
    expect(client.getState().conversations['conversation-1']).toBeUndefined();
  });
});
