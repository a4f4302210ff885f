import { useEffect, useState } from 'react';
import { useChatClient } from '../../app/chatContext';
import type { PublicUser } from '../../core/types';

// Wait for a pause in typing before asking the server.
const SEARCH_DEBOUNCE_MS = 200;

export function useUserSearch(query: string): { results: PublicUser[]; searching: boolean } {
  const client = useChatClient();
  const [results, setResults] = useState<PublicUser[]>([]);
  const [searching, setSearching] = useState(false);

  useEffect(() => {
    const trimmed = query.trim();
    if (!trimmed) {
      setResults([]);
      return;
    }
    let cancelled = false;
    setSearching(true);
    const timer = window.setTimeout(() => {
      client
        .searchUsers(trimmed)
        .then(
          (page) => !cancelled && setResults(page.items),
          () => !cancelled && setResults([]),
        )
        .finally(() => !cancelled && setSearching(false));
    }, SEARCH_DEBOUNCE_MS);
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [client, query]);

  return { results, searching };
}
