/**
 * Builds the ChatClient and its socket for a signed-in user and wires them to the browser:
 * focus, visibility, input activity, online/offline. Torn down on sign-out.
 */
import { useEffect, useState } from 'react';
import { createApi } from '../api/rest';
import { ChatSocket } from '../api/socket';
import { ActivityMonitor } from '../core/activity';
import { ChatClient, type OutboxStore } from '../core/chatClient';
import type { OutboxItem } from '../core/outbox';
import { systemClock } from '../core/clock';
import type { OwnUser } from '../core/types';
import { session } from './session';

// The contract's default: heartbeats carry the status every 30 s.
const HEARTBEAT_MS = 30_000;

/** The outbox of this tab survives a reload: sessionStorage is per tab, so tabs never send each other's. */
function sessionOutboxStore(userId: string): OutboxStore {
  const key = `parley.outbox.${userId}`;
  return {
    load: () => {
      try {
        return JSON.parse(window.sessionStorage.getItem(key) ?? '[]') as OutboxItem[];
      } catch {
        return [];
      }
    },
    save: (items) => {
      if (items.length === 0) window.sessionStorage.removeItem(key);
      else window.sessionStorage.setItem(key, JSON.stringify(items));
    },
  };
}

export function useChatSetup(me: OwnUser): ChatClient | null {
  const [client, setClient] = useState<ChatClient | null>(null);

  useEffect(() => {
    const api = createApi(session);
    let chat: ChatClient | null = null;
    let activity: ActivityMonitor | null = null;
    const socket = new ChatSocket(session, systemClock, {
      onConnected: () => {
        chat?.heartbeat(activity?.current ?? 'online');
        chat?.connected().catch(() => undefined);
      },
      onState: (state) => chat?.connectionChanged(state),
      onSessionEnded: () => session.end('expired'),
      newMessage: (message) => chat?.receiveMessage(message),
      messageEdited: (message) => chat?.editedMessage(message),
      messageDeleted: (deleted) => chat?.deletedMessage(deleted),
      userTyping: (typing) => chat?.userTyping(typing),
      readReceipt: (receipt) => chat?.readReceipt(receipt),
      presence: (presence) => chat?.presenceChanged(presence),
      conversationUpdated: (conversation) => chat?.conversationUpdated(conversation),
    });
    chat = new ChatClient({ me, api, link: socket, clock: systemClock, outboxStore: sessionOutboxStore(me.id) });
    activity = new ActivityMonitor(systemClock, (status) => chat?.heartbeat(status));
    activity.setHidden(document.visibilityState === 'hidden');

    const onInput = () => activity?.input();
    const onVisibility = () => activity?.setHidden(document.visibilityState === 'hidden');
    const onOnline = () => socket.reconnector.setBrowserOffline(false);
    const onOffline = () => socket.reconnector.setBrowserOffline(true);
    const inputEvents = ['pointerdown', 'keydown', 'wheel', 'touchstart', 'mousemove'] as const;
    for (const event of inputEvents) window.addEventListener(event, onInput, { passive: true });
    document.addEventListener('visibilitychange', onVisibility);
    window.addEventListener('online', onOnline);
    window.addEventListener('offline', onOffline);
    const heartbeat = window.setInterval(() => chat?.heartbeat(activity?.current ?? 'online'), HEARTBEAT_MS);

    // Connect first, then load: each connect reloads once the socket is in its rooms.
    socket.start();
    if (!navigator.onLine) socket.reconnector.setBrowserOffline(true);
    // The list also loads over REST at once, in case the socket cannot connect.
    void chat.start();
    setClient(chat);

    return () => {
      for (const event of inputEvents) window.removeEventListener(event, onInput);
      document.removeEventListener('visibilitychange', onVisibility);
      window.removeEventListener('online', onOnline);
      window.removeEventListener('offline', onOffline);
      window.clearInterval(heartbeat);
      activity?.dispose();
      socket.stop();
      chat?.dispose();
      setClient(null);
    };
    // A new client per signed-in user; token rotations keep the same one.
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `me` only matters by id
  }, [me.id]);

  return client;
}
