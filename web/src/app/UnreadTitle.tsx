import { useEffect, useMemo } from 'react';
import { useChat } from './chatContext';

/** "(3) Parley" while conversations have unread messages. */
export function UnreadTitle() {
  const conversations = useChat((state) => state.conversations);
  const unread = useMemo(
    () => Object.values(conversations).reduce((sum, c) => sum + c.unreadCount, 0),
    [conversations],
  );
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Parley` : 'Parley';
    return () => {
      document.title = 'Parley';
    };
  }, [unread]);
  return null;
}
