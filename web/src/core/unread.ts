/**
 * The contract's unread rules, applied to a held conversation as events arrive.
 *
 * Unread count: messages with seq above the reader's marker, not sent by the reader, not
 * deleted. Sending moves the sender's own marker to the sent message (no receipt is sent).
 * Each function returns the conversation unchanged when the event is not news to it, so
 * replays (a live event racing a catch-up) count once.
 */
import type { Conversation, Message, MessageDeleted, ReadReceipt } from './types';

export function myLastReadSeq(conversation: Conversation, meId: string): number {
  return conversation.participants.find((p) => p.id === meId)?.lastReadSeq ?? 0;
}

/** A message arrived (live or by catch-up). */
export function applyNewMessage(conversation: Conversation, message: Message, meId: string): Conversation {
  if (message.seq <= conversation.lastSeq) return conversation;
  let next: Conversation = {
    ...conversation,
    lastSeq: message.seq,
    lastMessage: message,
    lastActivityAt: message.createdAt,
  };
  // The sender's marker moves to what they sent.
  next = withReadMarker(next, message.senderId, message.seq, message.createdAt);
  if (message.senderId === meId) {
    next = { ...next, unreadCount: 0 };
  } else if (message.deletedAt === null && message.seq > myLastReadSeq(conversation, meId)) {
    next = { ...next, unreadCount: next.unreadCount + 1 };
  }
  return next;
}

/**
 * A message was deleted. `held` is the client's copy before the deletion, when it has one;
 * without it the sender is unknown and the caller must ask the server for the count.
 * Returns null in that case.
 */
export function applyDeletedMessage(
  conversation: Conversation,
  deleted: MessageDeleted,
  held: Message | undefined,
  meId: string,
): Conversation | null {
  let next = conversation;
  if (conversation.lastMessage?.seq === deleted.seq) {
    next = {
      ...next,
      lastMessage: { ...conversation.lastMessage, content: '', metadata: {}, deletedAt: deleted.deletedAt },
    };
  }
  if (deleted.seq <= myLastReadSeq(conversation, meId)) return next;
  if (!held) return null;
  if (held.deletedAt !== null || held.senderId === meId) return next;
  return { ...next, unreadCount: Math.max(0, next.unreadCount - 1) };
}

/** An edit changes the preview when it is the last message. */
export function applyEditedMessage(conversation: Conversation, message: Message): Conversation {
  if (conversation.lastMessage?.seq !== message.seq) return conversation;
  return { ...conversation, lastMessage: message };
}

/**
 * A read receipt (or the ack of our own markRead). When it is ours, the unread count is
 * recounted from `held` (the loaded messages), which must cover every seq above the new
 * marker; returns null when they do not and the caller must ask the server.
 */
export function applyReadReceipt(
  conversation: Conversation,
  receipt: Pick<ReadReceipt, 'userId' | 'seq' | 'readAt'>,
  meId: string,
  held: readonly Message[],
): Conversation | null {
  const before = conversation.participants.find((p) => p.id === receipt.userId)?.lastReadSeq ?? 0;
  const next = withReadMarker(conversation, receipt.userId, receipt.seq, receipt.readAt);
  if (receipt.userId !== meId || receipt.seq <= before) return next;
  const marker = Math.min(receipt.seq, next.lastSeq);
  if (marker >= next.lastSeq) return { ...next, unreadCount: 0 };
  const firstHeld = held[0]?.seq;
  const lastHeld = held.at(-1)?.seq ?? 0;
  if (firstHeld === undefined || firstHeld > marker + 1 || lastHeld < next.lastSeq) return null;
  return { ...next, unreadCount: countUnread(held, marker, meId) };
}

export function countUnread(messages: readonly Message[], lastReadSeq: number, meId: string): number {
  let count = 0;
  for (const message of messages) {
    if (message.seq > lastReadSeq && message.senderId !== meId && message.deletedAt === null) count += 1;
  }
  return count;
}

/** Moves a participant's read marker forward only. */
export function withReadMarker(conversation: Conversation, userId: string, seq: number, readAt: string): Conversation {
  const index = conversation.participants.findIndex((p) => p.id === userId);
  const participant = conversation.participants[index];
  if (!participant || participant.lastReadSeq >= seq) return conversation;
  const participants = conversation.participants.slice();
  participants[index] = { ...participant, lastReadSeq: seq, lastReadAt: readAt };
  return { ...conversation, participants };
}

/** Newest activity first, ties by id, as the server pages them. */
export function byActivity(a: Conversation, b: Conversation): number {
  if (a.lastActivityAt !== b.lastActivityAt) return a.lastActivityAt < b.lastActivityAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
