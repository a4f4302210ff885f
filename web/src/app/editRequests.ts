/**
 * "Edit my last message" requests from the composer (Arrow Up in an empty box) to the
 * message list of the same conversation.
 */
type Listener = (conversationId: string) => void;

const listeners = new Set<Listener>();

export function requestEditLast(conversationId: string): void {
  for (const listener of listeners) listener(conversationId);
}

export function onEditLastRequest(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
