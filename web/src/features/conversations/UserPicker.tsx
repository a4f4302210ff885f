import { useId, useState } from 'react';
import type { PublicUser } from '../../core/types';
import { Avatar } from '../../ui/Avatar';
import { useUserSearch } from './useUserSearch';

/** Search people by name; pick one (onPick) or toggle several (selected/onToggle). */
export function UserPicker({
  label,
  excludeIds = [],
  selected,
  onPick,
  onToggle,
  autoFocus = true,
}: {
  label: string;
  autoFocus?: boolean;
  excludeIds?: readonly string[];
  selected?: readonly PublicUser[];
  onPick?: (user: PublicUser) => void;
  onToggle?: (user: PublicUser) => void;
}) {
  const [query, setQuery] = useState('');
  const { results, searching } = useUserSearch(query);
  const inputId = useId();
  const shown = results.filter((user) => !excludeIds.includes(user.id));

  return (
    <div className="user-picker">
      <label htmlFor={inputId} className="field__label">
        {label}
      </label>
      <input
        id={inputId}
        type="search"
        className="input"
        placeholder="Search by name"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        autoFocus={autoFocus}
        autoComplete="off"
      />
      {selected && selected.length > 0 && (
        <ul className="chips" aria-label="Selected people">
          {selected.map((user) => (
            <li key={user.id}>
              <button
                type="button"
                className="chip"
                onClick={() => onToggle?.(user)}
                aria-label={`Remove ${user.displayName}`}
              >
                {user.displayName} <span aria-hidden="true">×</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {query.trim() && (
        <ul className="user-results" aria-label="Search results" aria-busy={searching}>
          {!searching && shown.length === 0 && <li className="muted list-note">No one found.</li>}
          {shown.map((user) => {
            const isSelected = selected?.some((s) => s.id === user.id) ?? false;
            return (
              <li key={user.id}>
                <button
                  type="button"
                  className={`user-result${isSelected ? ' user-result--selected' : ''}`}
                  aria-pressed={onToggle ? isSelected : undefined}
                  onClick={() => (onToggle ? onToggle(user) : onPick?.(user))}
                >
                  <Avatar
                    id={user.id}
                    name={user.displayName}
                    size={32}
                    presence={user.presence}
                    imageUrl={user.avatarUrl}
                  />
                  <span className="user-result__names">
                    <span dir="auto">{user.displayName}</span>
                    <span className="muted">@{user.username}</span>
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
