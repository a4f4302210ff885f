/** The signed-in ChatClient for the component tree, and a hook to read slices of its state. */
import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ChatClient, ChatState } from '../core/chatClient';

export const ChatContext = createContext<ChatClient | null>(null);

export function useChatClient(): ChatClient {
  const client = useContext(ChatContext);
  if (!client) throw new Error('useChatClient outside ChatContext');
  return client;
}

/** A slice of the chat state; the selector must return stable references for unchanged data. */
export function useChat<T>(selector: (state: ChatState) => T): T {
  const client = useChatClient();
  return useSyncExternalStore(client.subscribe, () => selector(client.getState()));
}
