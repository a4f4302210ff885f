import { useEffect, useRef, useState } from 'react';
import { useChat, useChatClient } from '../../app/chatContext';
import { navigate } from '../../app/route';
import { conversationTitle, lastSeenLabel, otherParticipant } from '../../core/format';
import { shownPresence } from '../../core/presence';
import { Avatar } from '../../ui/Avatar';
import { useMinuteTick } from '../../ui/useMinuteTick';
import { GroupDetails } from '../conversations/GroupDetails';
import { Composer } from './Composer';
import { MessageList } from './MessageList';
import { TypingIndicator } from './TypingIndicator';

export function ConversationView({ conversationId }: { conversationId: string }) {
  const client = useChatClient();
  const meId = useChat((state) => state.me.id);
  const conversation = useChat((state) => state.conversations[conversationId]);
  const loaded = useChat((state) => state.conversationsLoaded);
  const [detailsOpen, setDetailsOpen] = useState(false);
  const detailsButton = useRef<HTMLButtonElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const [missing, setMissing] = useState(false);

  const shown = conversation !== undefined;
  // On phones the list that held the focus is gone: keyboard users continue from the title.
  useEffect(() => {
    if (!window.matchMedia('(min-width: 768px)').matches) heading.current?.focus();
  }, [conversationId, shown]);

  useEffect(() => {
    client.openConversation(conversationId).catch(() => setMissing(true));
    return () => client.stoppedTyping(conversationId);
  }, [client, conversationId]);

  const other = conversation?.type === 'direct' ? otherParticipant(conversation, meId) : undefined;
  const presence = useChat((state) => (other ? shownPresence(state, other.id) : undefined));
  const presenceKnown = useChat(
    (state) => state.connection.status !== 'reconnecting' && state.connection.status !== 'offline',
  );
  useMinuteTick(presence?.status === 'offline');

  if (!conversation) {
    return (
      <div className="empty-state">
        {missing || loaded ? <p>This conversation is not available.</p> : <p className="muted">Loading…</p>}
        <button type="button" className="button" onClick={() => navigate(null)}>
          Back to conversations
        </button>
      </div>
    );
  }

  const title = conversationTitle(conversation, meId);
  const subtitle =
    conversation.type === 'group'
      ? `${conversation.participantCount} ${conversation.participantCount === 1 ? 'member' : 'members'}`
      : !presenceKnown
        ? '—'
        : presence?.status === 'online'
          ? 'Online'
          : presence?.status === 'away'
            ? 'Away'
            : lastSeenLabel(presence?.lastSeenAt ?? null);

  return (
    <section className="conversation" aria-label={title}>
      <header className="conversation__header">
        <button
          type="button"
          className="icon-button conversation__back"
          onClick={() => navigate(null)}
          aria-label="Back to conversations"
        >
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path
              d="M15 5l-7 7 7 7"
              stroke="currentColor"
              strokeWidth="2"
              fill="none"
              strokeLinecap="round"
              strokeLinejoin="round"
            />
          </svg>
        </button>
        <Avatar
          id={other?.id ?? conversation.id}
          name={title}
          size={36}
          presence={presence?.status}
          imageUrl={other?.avatarUrl}
        />
        <div className="conversation__titles">
          <h2 className="conversation__title" dir="auto" tabIndex={-1} ref={heading}>
            {title}
          </h2>
          <p className="conversation__subtitle" data-testid="conversation-status">
            {subtitle}
          </p>
        </div>
        {conversation.type === 'group' && (
          <button
            type="button"
            className="button button--quiet"
            ref={detailsButton}
            onClick={() => setDetailsOpen((open) => !open)}
            aria-expanded={detailsOpen}
          >
            Details
          </button>
        )}
      </header>
      <div className="conversation__body">
        <div className="conversation__timeline">
          <MessageList conversation={conversation} />
          <TypingIndicator conversation={conversation} />
          <Composer conversationId={conversationId} />
        </div>
        {detailsOpen && conversation.type === 'group' && (
          <GroupDetails
            conversation={conversation}
            onClose={() => {
              setDetailsOpen(false);
              detailsButton.current?.focus();
            }}
          />
        )}
      </div>
    </section>
  );
}
