/** Dates and names as the interface shows them. */
import type { Conversation, Participant } from './types';

export function dayKey(iso: string): string {
  const date = new Date(iso);
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

export function dayLabel(iso: string, now: Date = new Date()): string {
  const date = new Date(iso);
  const today = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const that = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  const days = Math.round((today.getTime() - that.getTime()) / 86_400_000);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  const sameYear = date.getFullYear() === now.getFullYear();
  return date.toLocaleDateString(undefined, {
    weekday: days < 7 ? 'long' : undefined,
    day: 'numeric',
    month: 'long',
    year: sameYear ? undefined : 'numeric',
  });
}

export function timeLabel(iso: string): string {
  return new Date(iso).toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
}

/** Short time for the conversation list: the time today, the weekday this week, else the date. */
export function listTimeLabel(iso: string, now: Date = new Date()): string {
  const date = new Date(iso);
  const ageMs = now.getTime() - date.getTime();
  if (dayKey(iso) === dayKey(now.toISOString())) return timeLabel(iso);
  if (ageMs < 6 * 86_400_000) return date.toLocaleDateString(undefined, { weekday: 'short' });
  return date.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
}

export function lastSeenLabel(iso: string | null, now: Date = new Date()): string {
  if (!iso) return 'Offline';
  const minutes = Math.floor((now.getTime() - new Date(iso).getTime()) / 60_000);
  if (minutes < 1) return 'Last seen just now';
  if (minutes < 60) return `Last seen ${minutes} min ago`;
  const day = dayLabel(iso, now);
  if (day === 'Today' || day === 'Yesterday') return `Last seen ${day.toLowerCase()} at ${timeLabel(iso)}`;
  return `Last seen ${day} at ${timeLabel(iso)}`;
}

export function otherParticipant(conversation: Conversation, meId: string): Participant | undefined {
  return conversation.participants.find((p) => p.id !== meId);
}

export function conversationTitle(conversation: Conversation, meId: string): string {
  if (conversation.type === 'group') return conversation.name ?? 'Group';
  return otherParticipant(conversation, meId)?.displayName ?? 'Direct message';
}

export function initials(name: string): string {
  const graphemes = (text: string) => [...segmenter.segment(text)].map((part) => part.segment);
  // The first letter or digit of the first and last words that have one: emoji and
  // punctuation make no initials.
  const firsts = name
    .trim()
    .split(/\s+/u)
    .map((word) => graphemes(word).find((grapheme) => LETTER_OR_DIGIT.test(grapheme)))
    .filter((grapheme): grapheme is string => grapheme !== undefined);
  const chosen = firsts.length > 1 ? [firsts[0]!, firsts.at(-1)!] : firsts;
  if (chosen.length > 0) return chosen.join('').toUpperCase();
  return graphemes(name.trim())[0] ?? '?';
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]/u;

/** "Ana is typing", "Ana and Ben are typing", "Ana, Ben and 2 others are typing". */
export function typingLabel(names: readonly string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} other${names.length > 3 ? 's' : ''} are typing`;
}

/**
 * A server's error detail as one sentence: capitalized, ending in exactly one full stop (a
 * detail may already end with one).
 */
export function detailSentence(detail: string): string {
  const text = detail.trim().replace(/[.\s]+$/u, '');
  if (!text) return 'Check the fields and try again.';
  return `${text[0]!.toUpperCase()}${text.slice(1)}.`;
}
