import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useChat, useChatClient } from '../../app/chatContext';
import { navigate } from '../../app/route';
import { shownPresence } from '../../core/presence';
import type { Conversation, Participant, PublicUser } from '../../core/types';
import { Avatar } from '../../ui/Avatar';
import { UserPicker } from './UserPicker';

/** A group's name and members: rename, add, remove, leave. */
export function GroupDetails({ conversation, onClose }: { conversation: Conversation; onClose: () => void }) {
  const client = useChatClient();
  const meId = useChat((state) => state.me.id);
  const presence = useChat((state) => state.presence);
  const connection = useChat((state) => state.connection);
  const myRole = conversation.participants.find((p) => p.id === meId)?.role ?? 'member';
  const canManage = myRole === 'owner' || myRole === 'admin';
  const [name, setName] = useState(conversation.name ?? '');
  const [adding, setAdding] = useState<PublicUser[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const panel = useRef<HTMLElement>(null);
  // Opened, the panel takes focus, so Escape closes it at once.
  useEffect(() => panel.current?.focus(), []);

  async function run(action: () => Promise<void>) {
    setError(null);
    try {
      await action();
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Something went wrong.');
    }
  }

  function rename(event: FormEvent) {
    event.preventDefault();
    if (name.trim() && name !== conversation.name) void run(() => client.renameGroup(conversation.id, name));
  }

  function canRemove(participant: Participant): boolean {
    if (participant.id === meId) return false;
    if (myRole === 'owner') return true;
    return myRole === 'admin' && participant.role === 'member';
  }

  return (
    <aside
      className="details"
      aria-label="Group details"
      ref={panel}
      tabIndex={-1}
      onKeyDown={(e) => {
        if (e.key !== 'Escape') return;
        e.stopPropagation();
        onClose();
      }}
    >
      <header className="details__header">
        <h3>Group details</h3>
        <button type="button" className="icon-button" onClick={onClose} aria-label="Close details">
          ×
        </button>
      </header>
      {error && (
        <p className="notice notice--error" role="alert">
          {error}
        </p>
      )}
      {canManage ? (
        <form className="details__rename" onSubmit={rename}>
          <label className="field">
            <span>Group name</span>
            <input className="input" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required />
          </label>
          <button type="submit" className="button" disabled={!name.trim() || name === conversation.name}>
            Rename
          </button>
        </form>
      ) : (
        <p className="details__name" dir="auto">
          {conversation.name}
        </p>
      )}
      <h4>
        Members <span className="muted">({conversation.participantCount})</span>
      </h4>
      <ul className="members">
        {conversation.participants.map((participant) => (
          <li key={participant.id} className="member">
            <Avatar
              id={participant.id}
              name={participant.displayName}
              size={28}
              presence={shownPresence({ connection, presence }, participant.id, participant.presence)?.status}
              imageUrl={participant.avatarUrl}
            />
            <span className="member__name" dir="auto">
              {participant.displayName}
              {participant.id === meId && <span className="muted"> (you)</span>}
            </span>
            {participant.role !== 'member' && <span className="member__role">{participant.role}</span>}
            {canRemove(participant) && (
              <button
                type="button"
                className="link-button"
                aria-label={`Remove ${participant.displayName}`}
                onClick={() => void run(() => client.removePerson(conversation.id, participant.id))}
              >
                Remove
              </button>
            )}
          </li>
        ))}
        {conversation.participantCount > conversation.participants.length && (
          <li className="muted">and {conversation.participantCount - conversation.participants.length} more</li>
        )}
      </ul>
      {canManage &&
        (adding ? (
          <div className="details__add">
            <UserPicker
              label="Add people"
              excludeIds={conversation.participants.map((p) => p.id)}
              selected={adding}
              onToggle={(user) =>
                setAdding((current) =>
                  current?.some((p) => p.id === user.id)
                    ? current.filter((p) => p.id !== user.id)
                    : [...(current ?? []), user],
                )
              }
            />
            <div className="details__buttons">
              <button type="button" className="button button--quiet" onClick={() => setAdding(null)}>
                Cancel
              </button>
              <button
                type="button"
                className="button button--primary"
                disabled={adding.length === 0}
                onClick={() =>
                  void run(async () => {
                    await client.addPeople(
                      conversation.id,
                      adding.map((p) => p.id),
                    );
                    setAdding(null);
                  })
                }
              >
                Add {adding.length > 0 ? adding.length : ''}
              </button>
            </div>
          </div>
        ) : (
          <button type="button" className="button" onClick={() => setAdding([])}>
            Add people
          </button>
        ))}
      <button
        type="button"
        className="button button--danger"
        onClick={() => {
          if (!window.confirm(`Leave ${conversation.name ?? 'this group'}?`)) return;
          void run(async () => {
            await client.removePerson(conversation.id, meId);
            navigate(null);
          });
        }}
      >
        Leave group
      </button>
    </aside>
  );
}
