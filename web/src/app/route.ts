/** The client's routes: `/` (the list) and `/c/<conversationId>` (a conversation). */
import { useSyncExternalStore } from 'react';

const listeners = new Set<() => void>();

window.addEventListener('popstate', () => notify());

function notify(): void {
  for (const listener of listeners) listener();
}

export function currentConversationId(): string | null {
  const match = /^\/c\/([^/]+)$/u.exec(window.location.pathname);
  return match ? decodeURIComponent(match[1]!) : null;
}

export function useConversationRoute(): string | null {
  return useSyncExternalStore((listener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  }, currentConversationId);
}

export function navigate(conversationId: string | null, options: { replace?: boolean } = {}): void {
  const path = conversationId ? `/c/${encodeURIComponent(conversationId)}` : '/';
  if (path === window.location.pathname) return;
  if (options.replace) window.history.replaceState(null, '', path);
  else window.history.pushState(null, '', path);
  notify();
}
