/**
 * Who has read what, for display. A reader's position is the newest held message at or
 * below their read marker; the user's own marker is not shown.
 */
import { findIndexBySeq } from './timeline';
import type { Message, Participant } from './types';

/** Direct conversations: whether the other person has read the user's last message. */
export function seenByOther(
  messages: readonly Message[],
  meId: string,
  other: Participant | undefined,
): Message | null {
  if (!other) return null;
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const message = messages[i]!;
    if (message.senderId !== meId || message.deletedAt !== null) continue;
    return hasSeen(other, message) ? message : null;
  }
  return null;
}

/** Groups: the other participants grouped by the seq of the message they have read up to. */
export function readersBySeq(
  messages: readonly Message[],
  participants: readonly Participant[],
  meId: string,
): Map<number, Participant[]> {
  const result = new Map<number, Participant[]>();
  if (messages.length === 0) return result;
  const firstSeq = messages[0]!.seq;
  for (const participant of participants) {
    if (participant.id === meId || participant.lastReadSeq < firstSeq) continue;
    const position = positionAtOrBelow(messages, participant.lastReadSeq);
    if (position === null) continue;
    const read = messages[findIndexBySeq(messages, position)];
    // Someone added later starts with their marker at the newest message of the time; what
    // came before they joined is not theirs to have seen.
    if (!read || !hasSeen(participant, read)) continue;
    // Everyone has read what they sent themselves: saying so is noise.
    if (read.senderId === participant.id) continue;
    const readers = result.get(position) ?? [];
    readers.push(participant);
    result.set(position, readers);
  }
  return result;
}

/**
 * Whether a participant has seen a message: their read marker is at or past it and they
 * had joined by the time it was sent.
 */
export function hasSeen(participant: Participant, message: Message): boolean {
  return participant.lastReadSeq >= message.seq && Date.parse(participant.joinedAt) <= Date.parse(message.createdAt);
}

function positionAtOrBelow(messages: readonly Message[], seq: number): number | null {
  let low = 0;
  let high = messages.length - 1;
  let found: number | null = null;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const candidate = messages[middle]!.seq;
    if (candidate <= seq) {
      found = candidate;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}
