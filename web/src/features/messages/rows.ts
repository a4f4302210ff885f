/** The message list's rows: day separators, held messages and pending sends, in order. */
import { dayKey, dayLabel } from '../../core/format';
import type { OutboxItem } from '../../core/outbox';
import type { Message, Participant } from '../../core/types';

export type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'message'; key: string; message: Message; firstOfRun: boolean; readers: Participant[]; seen: boolean }
  | { kind: 'pending'; key: string; item: OutboxItem };

// Messages from one sender within this many minutes read as one run (one name, tight spacing).
const RUN_GAP_MS = 5 * 60_000;

export function buildRows(
  messages: readonly Message[],
  hasMoreBefore: boolean,
  pending: readonly OutboxItem[],
  meId: string,
  readersBySeq: ReadonlyMap<number, Participant[]>,
  seenSeq: number | null,
  now: Date = new Date(),
): Row[] {
  const rows: Row[] = [];
  let previousDay: string | null = null;
  let previous: Message | null = null;
  for (const message of messages) {
    const day = dayKey(message.createdAt);
    // Nor is the first message's day: it may start in the page above. A separator on top of
    // the list, keyed by its day, would stay the top row when that page lands, and the view
    // anchored to it would stay at the top instead of keeping the message in place.
    const dayContinuesAbove = message === messages[0] && hasMoreBefore;
    if (dayContinuesAbove) {
      previousDay = day;
    } else if (day !== previousDay) {
      rows.push({ kind: 'day', key: `day:${day}`, label: dayLabel(message.createdAt, now) });
      previousDay = day;
      previous = null;
    }
    // The first message held may continue a run in the page above: it is not marked until
    // that page is here, so loading it does not change the spacing of what is on screen.
    const firstHeld = message === messages[0];
    const firstOfRun =
      previous === null
        ? !(firstHeld && hasMoreBefore)
        : previous.senderId !== message.senderId ||
          Date.parse(message.createdAt) - Date.parse(previous.createdAt) > RUN_GAP_MS;
    rows.push({
      kind: 'message',
      key: `${message.senderId}:${message.clientId}`,
      message,
      firstOfRun,
      readers: readersBySeq.get(message.seq) ?? [],
      seen: message.seq === seenSeq,
    });
    previous = message;
  }
  if (pending.length > 0) {
    const today = dayKey(now.toISOString());
    if (previousDay !== today) rows.push({ kind: 'day', key: `day:${today}`, label: 'Today' });
    for (const item of pending) rows.push({ kind: 'pending', key: `${meId}:${item.clientId}`, item });
  }
  return rows;
}
