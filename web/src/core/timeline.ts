/**
 * A conversation's loaded history: messages keyed by seq, always sorted by seq.
 *
 * Live events can race a catch-up, so merging is idempotent: a seq already held is kept
 * unless the incoming copy is a newer version of it (edited later, or deleted).
 */
import type { Message, MessageDeleted } from './types';

export interface Timeline {
  /** Sorted by seq, no duplicates. */
  messages: Message[];
  /** Whether older messages exist below the first one held. */
  hasMoreBefore: boolean;
  /**
   * Every message from the first held through this seq is held: the point to catch up
   * from. Messages above it arrived live past a hole that a catch-up still has to fill.
   */
  syncedSeq: number;
}

export const emptyTimeline: Timeline = { messages: [], hasMoreBefore: true, syncedSeq: 0 };

export function lastSeqOf(timeline: Timeline): number {
  return timeline.messages.at(-1)?.seq ?? 0;
}

/** Whether `candidate` should replace `held` as the copy of the same message. */
export function isNewerVersion(candidate: Message, held: Message): boolean {
  if (held.deletedAt !== null) return false;
  if (candidate.deletedAt !== null) return true;
  if (candidate.editedAt === null) return false;
  return held.editedAt === null || candidate.editedAt > held.editedAt;
}

/** Merges messages in any order into the timeline; returns the same object when nothing changed. */
export function mergeMessages(timeline: Timeline, incoming: readonly Message[]): Timeline {
  if (incoming.length === 0) return timeline;
  const bySeq = new Map<number, Message>();
  let changed = false;
  for (const message of incoming) {
    const other = bySeq.get(message.seq);
    if (!other || isNewerVersion(message, other)) bySeq.set(message.seq, message);
  }

  // Fast path: everything is newer than what is held (live messages, catch-up pages).
  const last = lastSeqOf(timeline);
  const sorted = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  if (sorted[0] !== undefined && sorted[0].seq > last) {
    return withSyncedSeq({ ...timeline, messages: [...timeline.messages, ...sorted] });
  }

  const merged = new Map<number, Message>();
  for (const message of timeline.messages) merged.set(message.seq, message);
  for (const message of sorted) {
    const held = merged.get(message.seq);
    if (!held || isNewerVersion(message, held)) {
      merged.set(message.seq, message);
      changed = true;
    }
  }
  if (!changed) return timeline;
  return withSyncedSeq({ ...timeline, messages: [...merged.values()].sort((a, b) => a.seq - b.seq) });
}

/** Advances syncedSeq over the messages that now follow it without a hole. */
function withSyncedSeq(timeline: Timeline): Timeline {
  const { messages } = timeline;
  let synced = timeline.syncedSeq;
  let index = synced === 0 ? 0 : findIndexBySeq(messages, synced) + 1;
  if (index === 0 && synced !== 0) return timeline; // the synced message is not held: wait for a catch-up
  while (index < messages.length && messages[index]!.seq === synced + 1) {
    synced += 1;
    index += 1;
  }
  return synced === timeline.syncedSeq ? timeline : { ...timeline, syncedSeq: synced };
}

/**
 * Adds an older page (from `before=`), newest first as the server sends it. The first page
 * of a timeline (the newest messages) sets where it is synced to.
 */
export function prependPage(timeline: Timeline, page: readonly Message[], hasMore: boolean): Timeline {
  if (timeline.messages.length === 0) {
    const newest = page.reduce((max, message) => Math.max(max, message.seq), 0);
    const start: Timeline = { ...timeline, syncedSeq: Math.max(timeline.syncedSeq, newest) };
    return { ...mergeMessages(start, page), hasMoreBefore: hasMore };
  }
  return { ...mergeMessages(timeline, page), hasMoreBefore: hasMore };
}

/** Applies a `messageDeleted` event to a held message; unknown seqs change nothing. */
export function applyDeletion(timeline: Timeline, deleted: MessageDeleted): Timeline {
  const index = findIndexBySeq(timeline.messages, deleted.seq);
  const held = index === -1 ? undefined : timeline.messages[index];
  if (!held || held.deletedAt !== null) return timeline;
  const messages = timeline.messages.slice();
  messages[index] = { ...held, content: '', metadata: {}, deletedAt: deleted.deletedAt };
  return { ...timeline, messages };
}

export function findBySeq(timeline: Timeline, seq: number): Message | undefined {
  const index = findIndexBySeq(timeline.messages, seq);
  return index === -1 ? undefined : timeline.messages[index];
}

/** The seq after which a live message leaves a hole, or null when it follows on. */
export function gapBefore(timeline: Timeline, incomingSeq: number): number | null {
  return incomingSeq > timeline.syncedSeq + 1 ? timeline.syncedSeq : null;
}

/** The index of the message with `seq` in a list ordered by seq, or -1. */
export function findIndexBySeq(messages: readonly Message[], seq: number): number {
  let low = 0;
  let high = messages.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const candidate = messages[middle]!.seq;
    if (candidate === seq) return middle;
    if (candidate < seq) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}
