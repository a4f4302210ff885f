/**
 * Others' presence as shown: known only while connected. Disconnected, the last status heard
 * may be stale, so it shows as unknown until the reconnect's list reload brings it fresh.
 */
import type { ChatState, PresenceInfo } from './chatClient';
import type { Presence } from './types';

export function shownPresence(
  state: Pick<ChatState, 'connection' | 'presence'>,
  userId: string,
  fallback?: Presence,
): PresenceInfo | null {
  if (state.connection.status === 'reconnecting' || state.connection.status === 'offline') return null;
  const known = state.presence[userId];
  if (known) return known;
  return fallback ? { status: fallback, lastSeenAt: null } : null;
}
