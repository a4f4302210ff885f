/** Wire shapes of the Parley contract (docs/api.md). */

export type Presence = 'online' | 'away' | 'offline';
export type Role = 'owner' | 'admin' | 'member';

export interface OwnUser {
  id: string;
  username: string;
  displayName: string;
  email: string;
  avatarUrl: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface PublicUser {
  id: string;
  username: string;
  displayName: string;
  avatarUrl: string | null;
  createdAt: string;
  updatedAt: string;
  presence: Presence;
  lastSeenAt: string | null;
}

export interface Participant extends PublicUser {
  role: Role;
  joinedAt: string;
  lastReadSeq: number;
  lastReadAt: string | null;
}

export interface Message {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  clientId: string;
  type: 'text' | 'image' | 'file';
  content: string;
  metadata: Record<string, unknown>;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
}

export interface Conversation {
  id: string;
  type: 'direct' | 'group';
  name: string | null;
  participantCount: number;
  participants: Participant[];
  lastSeq: number;
  lastMessage: Message | null;
  unreadCount: number;
  createdAt: string;
  updatedAt: string;
  lastActivityAt: string;
}

export interface AuthResult {
  user: OwnUser;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface MessagePage {
  items: Message[];
  hasMore: boolean;
}

export interface MessageDeleted {
  id: string;
  conversationId: string;
  seq: number;
  deletedAt: string;
}

export interface UserTyping {
  conversationId: string;
  userId: string;
  isTyping: boolean;
}

export interface ReadReceipt {
  conversationId: string;
  userId: string;
  seq: number;
  readAt: string;
}

export interface PresenceEvent {
  userId: string;
  status: Presence;
  lastSeenAt: string | null;
}

export interface WireError {
  code: string;
  message: string;
  retryAfter?: number;
}

export type Ack<T> = { ok: true; data: T } | { ok: false; error: WireError };
