import type { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect } from 'react';
import { useChatClient } from '../../app/chatContext';
import type { Row } from './rows';

/**
 * Moves the read marker to the newest message actually on screen, while the window has
 * focus and is visible: on scroll, on new rows, and when the window regains focus.
 */
export function useReadMarker(
  conversationId: string,
  rows: readonly Row[],
  virtualizer: ReturnType<typeof useVirtualizer<HTMLDivElement, Element>>,
) {
  const client = useChatClient();
  const check = useCallback(() => {
    if (document.visibilityState !== 'visible' || !document.hasFocus()) return;
    const element = virtualizer.scrollElement;
    if (!element) return;
    const top = element.scrollTop;
    const bottom = top + element.clientHeight;
    let newest = 0;
    for (const item of virtualizer.getVirtualItems()) {
      const row = rows[item.index];
      // Counted once half of it is on screen.
      const middle = item.start + item.size / 2;
      if (row?.kind === 'message' && middle >= top && middle <= bottom) newest = Math.max(newest, row.message.seq);
    }
    if (newest > 0) client.seen(conversationId, newest);
  }, [client, conversationId, rows, virtualizer]);

  useEffect(() => {
    check();
    const element = virtualizer.scrollElement;
    let frame = 0;
    const onScroll = () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(check);
    };
    element?.addEventListener('scroll', onScroll, { passive: true });
    window.addEventListener('focus', check);
    document.addEventListener('visibilitychange', check);
    return () => {
      cancelAnimationFrame(frame);
      element?.removeEventListener('scroll', onScroll);
      window.removeEventListener('focus', check);
      document.removeEventListener('visibilitychange', check);
    };
  });
}
