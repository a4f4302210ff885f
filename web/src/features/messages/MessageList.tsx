import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { onEditLastRequest } from '../../app/editRequests';
import { useChat, useChatClient } from '../../app/chatContext';
import { otherParticipant } from '../../core/format';
import type { OutboxItem } from '../../core/outbox';
import { readersBySeq, seenByOther } from '../../core/receipts';
import { emptyTimeline } from '../../core/timeline';
import type { Conversation } from '../../core/types';
import { MessageRow } from './MessageRow';
import { PendingRow } from './PendingRow';
import { buildRows, type Row } from './rows';
import { useReadMarker } from './useReadMarker';

const NOTHING_PENDING: OutboxItem[] = [];
// Start loading the previous page while this many rows are still above the viewport.
const LOAD_OLDER_WITHIN_ROWS = 10;

export function MessageList({ conversation }: { conversation: Conversation }) {
  const client = useChatClient();
  const meId = useChat((state) => state.me.id);
  const timeline = useChat((state) => state.timelines[conversation.id] ?? emptyTimeline);
  const loadingOlder = useChat((state) => state.loadingOlder[conversation.id] ?? false);
  const pending = useChat((state) => state.outbox[conversation.id] ?? NOTHING_PENDING);
  const scrollElement = useRef<HTMLDivElement>(null);

  const rows = useMemo(() => {
    const messages = timeline.messages;
    const isGroup = conversation.type === 'group';
    const readers = isGroup ? readersBySeq(messages, conversation.participants, meId) : new Map();
    const seen = isGroup ? null : (seenByOther(messages, meId, otherParticipant(conversation, meId))?.seq ?? null);
    return buildRows(messages, timeline.hasMoreBefore, pending, meId, readers, seen);
  }, [timeline.messages, timeline.hasMoreBefore, pending, conversation, meId]);

  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollElement.current,
    estimateSize: (index) => (rows[index]?.kind === 'day' ? 40 : 56),
    getItemKey: (index) => rows[index]?.key ?? index,
    anchorTo: 'end',
    followOnAppend: true,
    scrollEndThreshold: 80,
    overscan: 8,
  });

  // A row above the view that changes height (a loaded page makes the row at its edge start
  // or continue a run of one sender) moves the view by as much, whichever way the reader
  // scrolls, so what is on screen stays put.
  virtualizer.shouldAdjustScrollPositionOnItemSizeChange = (item, _delta, instance) =>
    item.start < (instance.scrollOffset ?? 0);

  // Open at the newest message.
  const opened = useRef(false);
  useLayoutEffect(() => {
    if (opened.current || timeline.messages.length === 0) return;
    opened.current = true;
    virtualizer.scrollToEnd();
  }, [timeline.messages.length, virtualizer]);

  // Sending always brings the user to what they sent.
  const pendingCount = useRef(pending.length);
  useEffect(() => {
    if (pending.length > pendingCount.current) virtualizer.scrollToEnd();
    pendingCount.current = pending.length;
  }, [pending.length, virtualizer]);

  // Older pages load as the top comes near; the end anchor keeps the visible row in place.
  const items = virtualizer.getVirtualItems();
  const firstIndex = items[0]?.index ?? 0;
  // One page per arrival near the top: after a load, the next waits until the view has left
  // the top rows (the page is laid out and the view kept in place) and comes back.
  const olderArmed = useRef(true);
  useEffect(() => {
    if (firstIndex > LOAD_OLDER_WITHIN_ROWS) {
      olderArmed.current = true;
      return;
    }
    if (!opened.current || loadingOlder || !timeline.hasMoreBefore || !olderArmed.current) return;
    olderArmed.current = false;
    void client.loadOlder(conversation.id).catch(() => undefined);
  }, [firstIndex, loadingOlder, timeline.hasMoreBefore, client, conversation.id]);

  useReadMarker(conversation.id, rows, virtualizer);

  // Arrow Up in an empty composer edits the user's last message, as in most chat apps.
  const [editingSeq, setEditingSeq] = useState<number | null>(null);
  useEffect(
    () =>
      onEditLastRequest((requested) => {
        if (requested !== conversation.id) return;
        const index = rows.findLastIndex(
          (row) => row.kind === 'message' && row.message.senderId === meId && row.message.deletedAt === null,
        );
        const row = rows[index];
        if (row?.kind !== 'message') return;
        virtualizer.scrollToIndex(index, { align: 'center' });
        setEditingSeq(row.message.seq);
      }),
    [conversation.id, rows, meId, virtualizer],
  );
  const awayFromEnd = opened.current && !virtualizer.isAtEnd(200);

  return (
    <div className="messages-frame">
      {awayFromEnd && (
        <button
          type="button"
          className="jump-to-latest"
          onClick={() => virtualizer.scrollToEnd()}
          aria-label="Jump to the latest message"
        >
          <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
            <path
              d="M12 5v14M6 13l6 6 6-6"
              stroke="currentColor"
              strokeWidth="2"
              fill="none"
              strokeLinecap="round"
              strokeLinejoin="round"
            />
          </svg>
          {conversation.unreadCount > 0 && <span className="badge">{conversation.unreadCount}</span>}
        </button>
      )}
      <div
        className="messages"
        ref={scrollElement}
        role="log"
        aria-label="Messages"
        tabIndex={0}
        data-testid="message-list"
      >
        {timeline.hasMoreBefore && timeline.messages.length > 0 && (
          <div className="messages__older muted" aria-hidden={!loadingOlder}>
            {loadingOlder ? 'Loading earlier messages…' : ''}
          </div>
        )}
        <div className="messages__canvas" style={{ height: virtualizer.getTotalSize() }}>
          {items.map((item) => {
            const row = rows[item.index];
            if (!row) return null;
            return (
              <div
                key={item.key}
                data-index={item.index}
                ref={virtualizer.measureElement}
                className="messages__row"
                style={{ transform: `translateY(${item.start}px)` }}
              >
                {renderRow(row, conversation, meId, editingSeq, setEditingSeq)}
              </div>
            );
          })}
        </div>
        {timeline.messages.length === 0 && pending.length === 0 && !timeline.hasMoreBefore && (
          <p className="messages__empty muted">No messages yet. Say hello!</p>
        )}
      </div>
    </div>
  );
}

function renderRow(
  row: Row,
  conversation: Conversation,
  meId: string,
  editingSeq: number | null,
  setEditingSeq: (seq: number | null) => void,
) {
  switch (row.kind) {
    case 'day':
      return (
        <div className="day-separator" role="separator">
          <span>{row.label}</span>
        </div>
      );
    case 'message':
      return (
        <MessageRow
          row={row}
          conversation={conversation}
          meId={meId}
          editing={row.message.seq === editingSeq}
          onEditingChange={setEditingSeq}
        />
      );
    case 'pending':
      return <PendingRow item={row.item} />;
  }
}
