import { useState, type FormEvent } from 'react';
import { useChatClient } from '../../app/chatContext';
import type { PublicUser } from '../../core/types';
import { UserPicker } from './UserPicker';

type Kind = 'direct' | 'group';

/** Start a direct conversation with someone, or a group. */
export function NewConversation({ onDone }: { onDone: (conversationId: string | null) => void }) {
  const client = useChatClient();
  const [kind, setKind] = useState<Kind>('direct');
  const [name, setName] = useState('');
  const [people, setPeople] = useState<PublicUser[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(action: () => Promise<{ id: string }>) {
    setBusy(true);
    setError(null);
    try {
      onDone((await action()).id);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Something went wrong.');
    } finally {
      setBusy(false);
    }
  }

  function createGroup(event: FormEvent) {
    event.preventDefault();
    if (!name.trim() || people.length === 0) return;
    void run(() =>
      client.createGroup(
        name.trim(),
        people.map((p) => p.id),
      ),
    );
  }

  return (
    <section className="panel" aria-label="New conversation" onKeyDown={(e) => e.key === 'Escape' && onDone(null)}>
      <div className="segmented" role="tablist" aria-label="Conversation type">
        <button type="button" role="tab" aria-selected={kind === 'direct'} onClick={() => setKind('direct')}>
          Direct message
        </button>
        <button type="button" role="tab" aria-selected={kind === 'group'} onClick={() => setKind('group')}>
          New group
        </button>
      </div>
      {error && (
        <p className="notice notice--error" role="alert">
          {error}
        </p>
      )}
      {kind === 'direct' ? (
        <UserPicker label="Message someone" onPick={(user) => !busy && void run(() => client.startDirect(user.id))} />
      ) : (
        <form onSubmit={createGroup} className="panel__form">
          <label className="field">
            <span>Group name</span>
            <input
              className="input"
              value={name}
              onChange={(e) => setName(e.target.value)}
              maxLength={100}
              required
              autoFocus
            />
          </label>
          <UserPicker
            label="Add people"
            autoFocus={false}
            selected={people}
            onToggle={(user) =>
              setPeople((current) =>
                current.some((p) => p.id === user.id) ? current.filter((p) => p.id !== user.id) : [...current, user],
              )
            }
          />
          <button
            type="submit"
            className="button button--primary"
            disabled={busy || !name.trim() || people.length === 0}
          >
            Create group
          </button>
        </form>
      )}
      <button type="button" className="button button--quiet" onClick={() => onDone(null)}>
        Cancel
      </button>
    </section>
  );
}
