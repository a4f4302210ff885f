import { memo, useState } from 'react';
import { useChatClient } from '../../app/chatContext';
import { timeLabel } from '../../core/format';
import type { Conversation } from '../../core/types';
import { RichText } from '../../ui/RichText';
import { EditBox } from './EditBox';
import type { Row } from './rows';

type MessageRowData = Extract<Row, { kind: 'message' }>;

export const MessageRow = memo(function MessageRow({
  row,
  conversation,
  meId,
  editing,
  onEditingChange,
}: {
  row: MessageRowData;
  conversation: Conversation;
  meId: string;
  editing: boolean;
  onEditingChange: (seq: number | null) => void;
}) {
  const client = useChatClient();
  const { message } = row;
  const mine = message.senderId === meId;
  const deleted = message.deletedAt !== null;
  const setEditing = (on: boolean) => {
    onEditingChange(on ? message.seq : null);
    // Back where the keyboard user was typing.
    if (!on) document.getElementById('composer-input')?.focus();
  };
  const [error, setError] = useState<string | null>(null);
  const sender = conversation.participants.find((p) => p.id === message.senderId);
  const showName = conversation.type === 'group' && !mine && row.firstOfRun;

  async function remove() {
    if (!window.confirm('Delete this message for everyone?')) return;
    try {
      await client.remove(message);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Could not delete.');
    }
  }

  return (
    <div
      className={`message${mine ? ' message--mine' : ''}${row.firstOfRun ? ' message--first' : ''}`}
      data-seq={message.seq}
      data-message-id={message.id}
      data-status="sent"
    >
      {showName && (
        <span className="message__sender" dir="auto">
          {sender?.displayName ?? 'Former member'}
        </span>
      )}
      {editing ? (
        <EditBox
          initial={message.content}
          onCancel={() => setEditing(false)}
          onSave={async (content) => {
            try {
              await client.edit(message, content);
              setEditing(false);
              setError(null);
            } catch (caught) {
              setError(caught instanceof Error ? caught.message : 'Could not save.');
            }
          }}
        />
      ) : (
        <div className="message__line">
          <div
            className={`bubble${mine ? ' bubble--mine' : ''}${deleted ? ' bubble--deleted' : ''}`}
            // A tap focuses the message, which shows its actions on phones (not a Tab stop).
            tabIndex={mine && !deleted ? -1 : undefined}
          >
            {deleted ? (
              <p className="bubble__text">This message was deleted</p>
            ) : (
              <p className="bubble__text" dir="auto">
                <RichText text={message.content} />
              </p>
            )}
          </div>
          {mine && !deleted && (
            <div className="message__actions">
              <button type="button" className="link-button" onClick={() => setEditing(true)} aria-label="Edit message">
                Edit
              </button>
              <button type="button" className="link-button" onClick={() => void remove()} aria-label="Delete message">
                Delete
              </button>
            </div>
          )}
        </div>
      )}
      <div className={`message__meta${mine ? ' message__meta--mine' : ''}`}>
        <time dateTime={message.createdAt} title={new Date(message.createdAt).toLocaleString()}>
          {timeLabel(message.createdAt)}
        </time>
        {message.editedAt && !deleted && <span className="message__edited"> · edited</span>}
        {row.seen && (
          <span className="message__seen" data-testid="seen">
            {' '}
            · Seen
          </span>
        )}
        {error && (
          <span className="message__status--failed" role="alert">
            {' '}
            · {error}
          </span>
        )}
      </div>
      {row.readers.length > 0 && (
        <div className={`message__readers${mine ? ' message__readers--mine' : ''}`} data-testid="readers">
          Seen by {row.readers.map((reader) => reader.displayName).join(', ')}
        </div>
      )}
    </div>
  );
});
