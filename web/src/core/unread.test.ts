import { describe, expect, it } from 'vitest';
import { BOB, CAROL, ME, conversation, message, participant } from '../test/factories';
import { hasSeen, seenByOther, readersBySeq } from './receipts';
import { applyDeletedMessage, applyNewMessage, applyReadReceipt, byActivity, countUnread } from './unread';

describe('unread rules', () => {
  it("counts others' new messages above the reader's marker, once each", () => {
    let held = conversation({ lastSeq: 4, participants: [participant(ME, 4), participant(BOB, 4)] });
    held = applyNewMessage(held, message(5), ME);
    held = applyNewMessage(held, message(6), ME);
    expect(held.unreadCount).toBe(2);
    // A live event racing a catch-up is not counted twice.
    expect(applyNewMessage(held, message(6), ME)).toBe(held);
    expect(held.lastMessage?.seq).toBe(6);
  });

  it("does not count the reader's own messages, and sending reads everything below", () => {
    let held = conversation({ lastSeq: 0, participants: [participant(ME, 0), participant(BOB, 0)] });
    held = applyNewMessage(held, message(1), ME);
    held = applyNewMessage(held, message(2, { senderId: ME }), ME);
    expect(held.unreadCount).toBe(0);
    expect(held.participants.find((p) => p.id === ME)?.lastReadSeq).toBe(2);
  });

  it("moves the sender's marker to what they sent", () => {
    const held = applyNewMessage(
      conversation({ participants: [participant(ME, 0), participant(BOB, 0)] }),
      message(1),
      ME,
    );
    expect(held.participants.find((p) => p.id === BOB)?.lastReadSeq).toBe(1);
  });

  it('uncounts a deleted unread message, and asks when the sender is unknown', () => {
    const held = conversation({ lastSeq: 3, unreadCount: 2, participants: [participant(ME, 1), participant(BOB, 3)] });
    const deletion = {
      id: 'message-3',
      conversationId: 'conversation-1',
      seq: 3,
      deletedAt: '2026-12-04T13:00:00.000Z',
    };
    expect(applyDeletedMessage(held, deletion, message(3), ME)?.unreadCount).toBe(1);
    expect(applyDeletedMessage(held, deletion, message(3, { senderId: ME }), ME)?.unreadCount).toBe(2);
    expect(applyDeletedMessage(held, deletion, undefined, ME)).toBeNull();
    // Below the marker it was not unread, whoever sent it.
    expect(applyDeletedMessage(held, { ...deletion, seq: 1 }, undefined, ME)?.unreadCount).toBe(2);
  });

  it("recounts on the reader's own receipt from the held messages", () => {
    const messages = [message(1), message(2), message(3, { deletedAt: 'x' }), message(4), message(5, { senderId: ME })];
    const held = conversation({ lastSeq: 5, unreadCount: 3, participants: [participant(ME, 0), participant(BOB, 5)] });
    expect(applyReadReceipt(held, { userId: ME, seq: 2, readAt: 'now' }, ME, messages)?.unreadCount).toBe(1);
    expect(applyReadReceipt(held, { userId: ME, seq: 5, readAt: 'now' }, ME, [])?.unreadCount).toBe(0);
    // Held messages that do not reach the marker cannot be counted: ask the server.
    expect(applyReadReceipt(held, { userId: ME, seq: 2, readAt: 'now' }, ME, [message(4), message(5)])).toBeNull();
  });

  it('only moves read markers forward', () => {
    const held = conversation({ participants: [participant(ME, 0), participant(BOB, 7)] });
    expect(applyReadReceipt(held, { userId: BOB, seq: 3, readAt: 'now' }, ME, [])).toBe(held);
  });

  it('counts unread messages by the contract', () => {
    const messages = [message(1), message(2, { senderId: ME }), message(3, { deletedAt: 'x' }), message(4)];
    expect(countUnread(messages, 1, ME)).toBe(1);
  });

  it('orders conversations by newest activity, ties by id', () => {
    const a = conversation({ id: 'a', lastActivityAt: '2026-12-04T10:00:00.000Z' });
    const b = conversation({ id: 'b', lastActivityAt: '2026-12-04T11:00:00.000Z' });
    const c = conversation({ id: 'c', lastActivityAt: '2026-12-04T10:00:00.000Z' });
    expect([a, b, c].sort(byActivity).map((x) => x.id)).toEqual(['b', 'c', 'a']);
  });
});

describe('receipts', () => {
  it('shows "seen" under my last message once the other person read it', () => {
    const messages = [message(1, { senderId: ME }), message(2), message(3, { senderId: ME })];
    expect(seenByOther(messages, ME, participant(BOB, 2))).toBeNull();
    expect(seenByOther(messages, ME, participant(BOB, 3))?.seq).toBe(3);
  });

  it('places each group reader at the newest held message they have read', () => {
    const messages = [message(10, { senderId: ME }), message(11, { senderId: ME }), message(13, { senderId: ME })];
    const readers = readersBySeq(
      messages,
      [participant(ME, 13), participant(BOB, 12), participant(CAROL, 13), participant('user-dan', 4)],
      ME,
    );
    expect(readers.get(11)?.map((p) => p.id)).toEqual([BOB]);
    expect(readers.get(13)?.map((p) => p.id)).toEqual([CAROL]);
    expect(readers.size).toBe(2);
  });

  it('does not show a sender as a reader of their own message', () => {
    const messages = [message(1, { senderId: CAROL }), message(2, { senderId: BOB })];
    const readers = readersBySeq(messages, [participant(BOB, 2), participant(CAROL, 2)], ME);
    expect(readers.get(2)?.map((p) => p.id)).toEqual([CAROL]);
  });

  it('counts a message as seen only by those who had joined when it was sent', () => {
    const sent = message(5, { createdAt: '2026-12-04T12:00:00.000Z' });
    const before = { joinedAt: '2026-12-04T11:00:00.000Z' };
    const same = { joinedAt: '2026-12-04T12:00:00.000Z' };
    const after = { joinedAt: '2026-12-04T13:00:00.000Z' };
    expect(hasSeen(participant(BOB, 5, before), sent)).toBe(true);
    expect(hasSeen(participant(BOB, 5, same), sent)).toBe(true);
    expect(hasSeen(participant(BOB, 4, before), sent)).toBe(false);
    expect(hasSeen(participant(BOB, 9, after), sent)).toBe(false);
  });

  it('does not show someone added later as having seen what came before they joined', () => {
    // Dan joined after message 3, with his marker set to the newest message then.
    const messages = [1, 2, 3].map((seq) => message(seq, { senderId: ME }));
    const joinedAt = new Date(Date.parse(messages[2]!.createdAt) + 60_000).toISOString();
    const dan = participant('user-dan', 3, { joinedAt });
    expect(readersBySeq(messages, [participant(ME, 3), dan, participant(CAROL, 3)], ME).get(3)).toEqual([
      participant(CAROL, 3),
    ]);
    // Once he reads a message sent after he joined, he shows there.
    const later = [
      ...messages,
      message(4, { senderId: ME, createdAt: new Date(Date.parse(joinedAt) + 1000).toISOString() }),
    ];
    const readers = readersBySeq(later, [participant(ME, 4), { ...dan, lastReadSeq: 4 }], ME);
    expect(readers.get(4)?.map((p) => p.id)).toEqual(['user-dan']);
    expect(seenByOther(messages, ME, dan)).toBeNull();
  });
});
