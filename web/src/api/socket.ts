/**
 * The Socket.IO connection to the `/chat` namespace.
 *
 * The library's own reconnection is off: the Reconnector schedules attempts, so the
 * interface can show when the next one happens, and a refused token is refreshed before
 * trying again. Requests are only emitted while connected, so nothing waits in the
 * library's buffer to be sent later behind the client's back.
 */
import { io, type Socket } from 'socket.io-client';
import type { Clock } from '../core/clock';
import { Reconnector, type ConnectionState } from '../core/reconnect';
import type { Session } from '../core/session';
import type { Ack, Conversation, Message, MessageDeleted, PresenceEvent, ReadReceipt, UserTyping } from '../core/types';

export interface ServerEvents {
  newMessage: (message: Message) => void;
  messageEdited: (message: Message) => void;
  messageDeleted: (deleted: MessageDeleted) => void;
  userTyping: (typing: UserTyping) => void;
  readReceipt: (receipt: ReadReceipt) => void;
  presence: (presence: PresenceEvent) => void;
  conversationUpdated: (conversation: Omit<Conversation, 'unreadCount'>) => void;
}

export interface SocketHandlers extends ServerEvents {
  onConnected: () => void;
  onState: (state: ConnectionState) => void;
  onSessionEnded: () => void;
}

// An acknowledgement slower than this is treated as lost; the caller decides what follows.
const ACK_TIMEOUT_MS = 15_000;

export interface RealtimeLink {
  readonly connected: boolean;
  retryNow(): void;
  request<T>(event: string, payload: unknown): Promise<Ack<T>>;
}

export class ChatSocket implements RealtimeLink {
  private readonly socket: Socket;
  readonly reconnector: Reconnector;

  constructor(session: Session, clock: Clock, handlers: SocketHandlers) {
    this.socket = io('/chat', {
      autoConnect: false,
      reconnection: false,
      transports: ['websocket'],
      auth: (callback) => {
        session.accessToken().then(
          (token) => callback({ token: token ?? '' }),
          () => callback({ token: session.value?.accessToken ?? '' }),
        );
      },
    });
    this.reconnector = new Reconnector(clock, () => this.socket.connect(), handlers.onState);

    this.socket.on('connect', () => {
      this.reconnector.connected();
      handlers.onConnected();
    });
    this.socket.on('connect_error', (error: Error & { data?: { code?: string } }) => {
      if (error.data?.code !== 'unauthorized') {
        this.reconnector.failed();
        return;
      }
      session.refresh().then(
        (refreshed) => (refreshed ? this.reconnector.failed() : handlers.onSessionEnded()),
        () => this.reconnector.failed(),
      );
    });
    this.socket.on('disconnect', (reason) => {
      if (reason !== 'io client disconnect') this.reconnector.failed();
    });

    const events: (keyof ServerEvents)[] = [
      'newMessage',
      'messageEdited',
      'messageDeleted',
      'userTyping',
      'readReceipt',
      'presence',
      'conversationUpdated',
    ];
    for (const event of events) this.socket.on(event, handlers[event] as (...args: unknown[]) => void);
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  retryNow(): void {
    this.reconnector.retryNow();
  }

  start(): void {
    this.reconnector.start();
  }

  stop(): void {
    this.reconnector.stop();
    this.socket.disconnect();
  }

  request<T>(event: string, payload: unknown): Promise<Ack<T>> {
    if (!this.socket.connected) {
      return Promise.reject(new Error('not connected'));
    }
    return this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload) as Promise<Ack<T>>;
  }
}
