import { useChat } from '../../app/chatContext';
import { navigate } from '../../app/route';
import { conversationTitle, listTimeLabel, otherParticipant } from '../../core/format';
import { shownPresence } from '../../core/presence';
import type { Conversation } from '../../core/types';
import { Avatar } from '../../ui/Avatar';

export function ConversationRow({ conversation, selected }: { conversation: Conversation; selected: boolean }) {
  const meId = useChat((state) => state.me.id);
  const other = conversation.type === 'direct' ? otherParticipant(conversation, meId) : undefined;
  const presence = useChat((state) => (other ? shownPresence(state, other.id, other.presence)?.status : undefined));
  const typing = useChat((state) => (state.typing[conversation.id]?.length ?? 0) > 0);
  const title = conversationTitle(conversation, meId);
  const unread = conversation.unreadCount;

  return (
    <a
      href={`/c/${conversation.id}`}
      className={`conversation-row${selected ? ' conversation-row--selected' : ''}${unread > 0 ? ' conversation-row--unread' : ''}`}
      aria-current={selected ? 'page' : undefined}
      data-conversation-id={conversation.id}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(conversation.id);
      }}
    >
      <Avatar id={other?.id ?? conversation.id} name={title} presence={presence} imageUrl={other?.avatarUrl} />
      <span className="conversation-row__body">
        <span className="conversation-row__top">
          <span className="conversation-row__title" dir="auto">
            {title}
          </span>
          <time className="conversation-row__time" dateTime={conversation.lastActivityAt}>
            {listTimeLabel(conversation.lastActivityAt)}
          </time>
        </span>
        <span className="conversation-row__bottom">
          <span className="conversation-row__preview" dir="auto">
            {typing ? <em>typing…</em> : preview(conversation, meId)}
          </span>
          {unread > 0 && (
            <span className="badge" aria-label={`${unread} unread`} data-testid="unread-badge">
              {unread > 99 ? '99+' : unread}
            </span>
          )}
        </span>
      </span>
    </a>
  );
}

function preview(conversation: Conversation, meId: string): string {
  const message = conversation.lastMessage;
  if (!message) return conversation.type === 'group' ? `${conversation.participantCount} people` : 'Say hello';
  if (message.deletedAt) return 'Message deleted';
  const sender =
    message.senderId === meId
      ? 'You: '
      : conversation.type === 'group'
        ? `${firstName(conversation, message.senderId)}: `
        : '';
  return sender + message.content.replace(/\s+/gu, ' ').slice(0, 140);
}

function firstName(conversation: Conversation, userId: string): string {
  const name = conversation.participants.find((p) => p.id === userId)?.displayName ?? 'Someone';
  return name.split(/\s+/u)[0] ?? name;
}
