/**
 * Catching a conversation up after a reconnect or a hole in the live seqs: page through
 * `sync` from the last seq held until the server has no more.
 */
import type { Message, MessagePage } from './types';

export const SYNC_PAGE = 100;
// Past this many pages the held history is stale enough to drop and reload from the newest.
export const MAX_SYNC_PAGES = 10;

export type SyncFn = (conversationId: string, afterSeq: number, limit: number) => Promise<MessagePage>;

export type CatchUpResult = { kind: 'caughtUp'; messages: Message[] } | { kind: 'tooFarBehind' };

export async function catchUp(sync: SyncFn, conversationId: string, afterSeq: number): Promise<CatchUpResult> {
  const messages: Message[] = [];
  let cursor = afterSeq;
  for (let page = 0; page < MAX_SYNC_PAGES; page += 1) {
    const result = await sync(conversationId, cursor, SYNC_PAGE);
    messages.push(...result.items);
    const last = result.items.at(-1);
    if (!result.hasMore || !last) return { kind: 'caughtUp', messages };
    cursor = last.seq;
  }
  return { kind: 'tooFarBehind' };
}
