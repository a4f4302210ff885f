import type { Conversation, Message, Participant } from '../core/types';

export const ME = 'user-me';
export const BOB = 'user-bob';
export const CAROL = 'user-carol';

export function message(seq: number, overrides: Partial<Message> = {}): Message {
  return {
    id: `message-${seq}`,
    conversationId: 'conversation-1',
    seq,
    senderId: BOB,
    clientId: `client-${seq}`,
    type: 'text',
    content: `Message ${seq}`,
    metadata: {},
    createdAt: new Date(Date.parse('2026-12-04T12:00:00.000Z') + seq * 1000).toISOString(),
    editedAt: null,
    deletedAt: null,
    ...overrides,
  };
}

export function participant(id: string, lastReadSeq = 0, overrides: Partial<Participant> = {}): Participant {
  return {
    id,
    username: id,
    displayName: id.replace('user-', ''),
    avatarUrl: null,
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
    presence: 'online',
    lastSeenAt: null,
    role: 'member',
    joinedAt: '2026-12-01T00:00:00.000Z',
    lastReadSeq,
    lastReadAt: null,
    ...overrides,
  };
}

export function conversation(overrides: Partial<Conversation> = {}): Conversation {
  return {
    id: 'conversation-1',
    type: 'direct',
    name: null,
    participantCount: 2,
    participants: [participant(ME), participant(BOB)],
    lastSeq: 0,
    lastMessage: null,
    unreadCount: 0,
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
    lastActivityAt: '2026-12-01T00:00:00.000Z',
    ...overrides,
  };
}
