import { describe, expect, it } from 'vitest';
import { detailSentence, initials, lastSeenLabel, typingLabel } from './format';

describe('format', () => {
  it('names who is typing, briefly', () => {
    expect(typingLabel(['Ana'])).toBe('Ana is typing');
    expect(typingLabel(['Ana', 'Ben'])).toBe('Ana and Ben are typing');
    expect(typingLabel(['Ana', 'Ben', 'Cy'])).toBe('Ana, Ben and 1 other are typing');
    expect(typingLabel(['Ana', 'Ben', 'Cy', 'Di'])).toBe('Ana, Ben and 2 others are typing');
  });

  it('says when someone was last seen', () => {
    const now = new Date('2026-12-04T15:00:00');
    expect(lastSeenLabel(null, now)).toBe('Offline');
    expect(lastSeenLabel(new Date('2026-12-04T14:59:40').toISOString(), now)).toBe('Last seen just now');
    expect(lastSeenLabel(new Date('2026-12-04T14:45:00').toISOString(), now)).toBe('Last seen 15 min ago');
    expect(lastSeenLabel(new Date('2026-12-04T09:00:00').toISOString(), now)).toMatch(/^Last seen today at /);
    expect(lastSeenLabel(new Date('2026-12-03T09:00:00').toISOString(), now)).toMatch(/^Last seen yesterday at /);
  });

  it('makes initials from any script', () => {
    expect(initials('Maya Lindqvist')).toBe('ML');
    expect(initials('Ömer')).toBe('Ö');
    expect(initials('  ')).toBe('?');
  });

  it('takes initials from letters and digits only, at most two graphemes', () => {
    expect(initials('Weekend hike 🥾')).toBe('WH');
    expect(initials('🥾 Hike')).toBe('H');
    expect(initials('(Ana) Björk')).toBe('AB');
    expect(initials('Team 42')).toBe('T4');
    expect(initials('e\u0301lodie Noël')).toBe('E\u0301N');
    expect(initials('🥾🏔️')).toBe('🥾');
    expect(initials('Ana Maria de la Cruz')).toBe('AC');
  });

  it("shows a server's error detail as one sentence, with one full stop", () => {
    expect(detailSentence('username must be 3-32 characters')).toBe('Username must be 3-32 characters.');
    expect(detailSentence('email is not valid: It must have exactly one @-sign.')).toBe(
      'Email is not valid: It must have exactly one @-sign.',
    );
    expect(detailSentence('password: String should have at least 8 characters')).toBe(
      'Password: String should have at least 8 characters.',
    );
    expect(detailSentence('  ')).toBe('Check the fields and try again.');
  });
});
