import { useEffect, useMemo, useRef, useState } from 'react';
import { useChat, useChatClient } from '../../app/chatContext';
import { navigate } from '../../app/route';
import { signOut } from '../../app/session';
import { byActivity } from '../../core/unread';
import { Avatar } from '../../ui/Avatar';
import { ConversationRow } from './ConversationRow';
import { NewConversation } from './NewConversation';

export function ConversationList({ selectedId }: { selectedId: string | null }) {
  const me = useChat((state) => state.me);
  const conversations = useChat((state) => state.conversations);
  const loaded = useChat((state) => state.conversationsLoaded);
  const hasMore = useChat((state) => state.conversationsCursor !== null);
  const client = useChatClient();
  const [composing, setComposing] = useState(false);
  const [loadingMore, setLoadingMore] = useState(false);
  const sorted = useMemo(() => Object.values(conversations).sort(byActivity), [conversations]);
  const newButton = useRef<HTMLButtonElement>(null);
  const list = useRef<HTMLElement>(null);

  // Signed in (the form that had focus is gone), the keyboard starts at the conversation list.
  useEffect(() => {
    if (!document.activeElement || document.activeElement === document.body) list.current?.focus();
  }, []);

  return (
    <div className="sidebar">
      <header className="sidebar__header">
        <Avatar id={me.id} name={me.displayName} size={32} imageUrl={me.avatarUrl} />
        <div className="sidebar__me">
          <span className="sidebar__name">{me.displayName}</span>
          <span className="sidebar__username">@{me.username}</span>
        </div>
        <button
          ref={newButton}
          type="button"
          className="icon-button"
          onClick={() => setComposing((open) => !open)}
          aria-expanded={composing}
          aria-label="New conversation"
          title="New conversation"
        >
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
            <path d="M12 5v14M5 12h14" stroke="currentColor" strokeWidth="2" strokeLinecap="round" fill="none" />
          </svg>
        </button>
        <button type="button" className="button button--quiet" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      {composing && (
        <NewConversation
          onDone={(conversationId) => {
            setComposing(false);
            if (conversationId) navigate(conversationId);
            else newButton.current?.focus();
          }}
        />
      )}
      <nav className="conversation-list" aria-label="Conversation list" ref={list} tabIndex={-1}>
        {!loaded && <p className="muted list-note">Loading conversations…</p>}
        {loaded && sorted.length === 0 && (
          <p className="muted list-note">No conversations yet. Start one with the + button.</p>
        )}
        <ul>
          {sorted.map((conversation) => (
            <li key={conversation.id}>
              <ConversationRow conversation={conversation} selected={conversation.id === selectedId} />
            </li>
          ))}
        </ul>
        {hasMore && (
          <button
            type="button"
            className="button button--quiet list-more"
            disabled={loadingMore}
            onClick={() => {
              setLoadingMore(true);
              client
                .loadMoreConversations()
                .catch(() => undefined)
                .finally(() => setLoadingMore(false));
            }}
          >
            {loadingMore ? 'Loading…' : 'Show older conversations'}
          </button>
        )}
      </nav>
    </div>
  );
}
