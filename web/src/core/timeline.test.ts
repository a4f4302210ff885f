import { describe, expect, it } from 'vitest';
import { message } from '../test/factories';
import { applyDeletion, emptyTimeline, gapBefore, mergeMessages, prependPage } from './timeline';

const seqs = (t: { messages: { seq: number }[] }) => t.messages.map((m) => m.seq);

describe('timeline', () => {
  it('orders by seq whatever the arrival order and drops duplicates', () => {
    const first = prependPage(emptyTimeline, [message(3), message(2)], true);
    const merged = mergeMessages(first, [message(5), message(3), message(4), message(5)]);
    expect(seqs(merged)).toEqual([2, 3, 4, 5]);
    expect(mergeMessages(merged, [message(4)])).toBe(merged);
  });

  it('prepends older pages below what it holds', () => {
    const newest = prependPage(emptyTimeline, [message(200), message(199)], true);
    const older = prependPage(newest, [message(198), message(197)], false);
    expect(seqs(older)).toEqual([197, 198, 199, 200]);
    expect(older.hasMoreBefore).toBe(false);
  });

  it('keeps the newest version of a message: an edit replaces, a stale copy does not', () => {
    const held = prependPage(
      emptyTimeline,
      [message(1, { editedAt: '2026-12-04T12:05:00.000Z', content: 'new' })],
      false,
    );
    expect(mergeMessages(held, [message(1, { content: 'old' })])).toBe(held);
    const deleted = mergeMessages(held, [message(1, { content: '', deletedAt: '2026-12-04T12:06:00.000Z' })]);
    expect(deleted.messages[0]?.deletedAt).not.toBeNull();
    expect(mergeMessages(deleted, [message(1, { editedAt: '2026-12-04T12:07:00.000Z' })])).toBe(deleted);
  });

  it('applies a deletion to the held copy and ignores unknown seqs', () => {
    const held = prependPage(emptyTimeline, [message(2), message(1)], false);
    const deleted = applyDeletion(held, {
      id: 'message-2',
      conversationId: 'conversation-1',
      seq: 2,
      deletedAt: '2026-12-04T12:10:00.000Z',
    });
    expect(deleted.messages[1]).toMatchObject({ content: '', deletedAt: '2026-12-04T12:10:00.000Z' });
    expect(applyDeletion(deleted, { id: 'x', conversationId: 'conversation-1', seq: 9, deletedAt: 'x' })).toBe(deleted);
  });

  it('tracks the contiguous seq and reports a hole after it', () => {
    const held = prependPage(emptyTimeline, [message(10), message(9)], true);
    expect(held.syncedSeq).toBe(10);
    expect(gapBefore(held, 11)).toBeNull();
    expect(gapBefore(held, 13)).toBe(10);

    const jumped = mergeMessages(held, [message(13)]);
    expect(jumped.syncedSeq).toBe(10);
    const filled = mergeMessages(jumped, [message(12), message(11)]);
    expect(filled.syncedSeq).toBe(13);
  });

  it('sees a hole in an empty conversation when the first live message is not seq 1', () => {
    const empty = prependPage(emptyTimeline, [], false);
    expect(gapBefore(empty, 1)).toBeNull();
    expect(gapBefore(empty, 2)).toBe(0);
    expect(mergeMessages(empty, [message(2)]).syncedSeq).toBe(0);
  });
});
