import { describe, expect, it } from 'vitest';
import { FakeClock } from '../test/fakeClock';
import { TYPING_IDLE_MS, TYPING_REPEAT_MS, TYPING_STALE_MS, TypingSender, TypingTracker } from './typing';

describe('TypingSender', () => {
  it('says "typing" at most every 3 s while the user types, and "stopped" when idle', () => {
    const clock = new FakeClock();
    const sent: boolean[] = [];
    const sender = new TypingSender(clock, (isTyping) => sent.push(isTyping));
    for (let i = 0; i < 30; i += 1) {
      sender.input();
      clock.advance(200);
    }
    // 6 s of typing: at 0, 3 s (and not more often).
    expect(sent).toEqual([true, true]);
    clock.advance(TYPING_IDLE_MS);
    expect(sent).toEqual([true, true, false]);
  });

  it('says "stopped" at once on send and not again', () => {
    const clock = new FakeClock();
    const sent: boolean[] = [];
    const sender = new TypingSender(clock, (isTyping) => sent.push(isTyping));
    sender.input();
    sender.stop();
    sender.stop();
    clock.advance(TYPING_REPEAT_MS * 3);
    expect(sent).toEqual([true, false]);
  });
});

describe('TypingTracker', () => {
  it('drops a typing state not repeated for 6 s', () => {
    const clock = new FakeClock();
    const tracker = new TypingTracker(clock, () => undefined);
    tracker.apply({ conversationId: 'c', userId: 'bob', isTyping: true });
    clock.advance(TYPING_STALE_MS - 1000);
    tracker.apply({ conversationId: 'c', userId: 'bob', isTyping: true });
    clock.advance(TYPING_STALE_MS - 1);
    expect(tracker.typists('c')).toEqual(['bob']);
    clock.advance(1);
    expect(tracker.typists('c')).toEqual([]);
  });

  it('clears a typist on "stopped" or when their message arrives', () => {
    const clock = new FakeClock();
    let changes = 0;
    const tracker = new TypingTracker(clock, () => (changes += 1));
    tracker.apply({ conversationId: 'c', userId: 'bob', isTyping: true });
    tracker.apply({ conversationId: 'c', userId: 'ann', isTyping: true });
    tracker.apply({ conversationId: 'c', userId: 'bob', isTyping: false });
    tracker.clear('c', 'ann');
    expect(tracker.typists('c')).toEqual([]);
    expect(changes).toBe(4);
  });
});
