/**
 * The outbox: messages the user sent that the server has not acknowledged yet.
 *
 * Invariants:
 * - An item keeps its clientId for its whole life, so sending it again (after a reconnect,
 *   or from the retry button) can never store it twice: the server is idempotent on it.
 * - Items are only handed to the socket while it is connected; while it is not, they wait
 *   here, never in the socket library's own buffer, and go out again on the next connect.
 * - An attempt without an acknowledgement for FAILED_AFTER_MS marks the item failed; it
 *   stays in the outbox and is sent again on reconnect or when the user retries.
 * - An item leaves the outbox when the server's copy arrives (ack or live event), matched
 *   by clientId.
 */
import type { Clock } from './clock';
import type { Ack, Message } from './types';

// The contract's promise to the user: ten seconds without an ack shows "failed".
export const FAILED_AFTER_MS = 10_000;
// `unavailable` is the server saying "not now" (its database is away, or it is stopping and
// will close the connection): the item stays "sending" and goes again after this pause, and
// again on the next connect, until it is stored or its attempt runs out.
export const UNAVAILABLE_RETRY_MS = 1_000;

export type OutboxStatus = 'sending' | 'failed';

export interface OutboxItem {
  clientId: string;
  conversationId: string;
  content: string;
  /** When the user sent it (ms since the epoch); orders the pending bubbles. */
  createdAt: number;
  status: OutboxStatus;
  /** Why the last attempt failed, for the user, when the server said so. */
  error: string | null;
}

export interface SendPayload {
  conversationId: string;
  clientId: string;
  content: string;
}

export interface OutboxDeps {
  clock: Clock;
  isConnected: () => boolean;
  /** Emits `sendMessage`; resolves with the server's ack, or never when the connection drops. */
  transmit: (payload: SendPayload) => Promise<Ack<Message>>;
  /** The server stored the message: merge it into the conversation. */
  onDelivered: (message: Message) => void;
  onChange: () => void;
  failedAfterMs?: number;
}

interface Attempt {
  /** Distinguishes attempts, so a late ack of an old one does not confuse a newer one. */
  id: number;
  timer: unknown;
}

export class Outbox {
  private readonly items = new Map<string, OutboxItem>();
  private readonly attempts = new Map<string, Attempt>();
  private nextAttemptId = 1;

  constructor(private readonly deps: OutboxDeps) {}

  /** Pending items of a conversation, oldest first. */
  list(conversationId: string): OutboxItem[] {
    return [...this.items.values()]
      .filter((item) => item.conversationId === conversationId)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  all(): OutboxItem[] {
    return [...this.items.values()];
  }

  enqueue(item: { clientId: string; conversationId: string; content: string }): OutboxItem {
    const queued: OutboxItem = { ...item, createdAt: this.deps.clock.now(), status: 'sending', error: null };
    this.items.set(queued.clientId, queued);
    this.startAttempt(queued.clientId);
    this.deps.onChange();
    return queued;
  }

  /** Items saved by an earlier page load of this tab: they wait for the next connect like new ones. */
  restore(items: readonly OutboxItem[]): void {
    for (const item of items) {
      if (this.items.has(item.clientId)) continue;
      this.items.set(item.clientId, { ...item, status: item.error === null ? 'sending' : 'failed' });
      if (item.error === null) this.startAttempt(item.clientId);
    }
    this.deps.onChange();
  }

  /** The retry button: a failed item is sent again now, or as soon as the socket connects. */
  retry(clientId: string): void {
    if (!this.items.has(clientId)) return;
    this.update(clientId, { status: 'sending', error: null });
    this.startAttempt(clientId);
    this.deps.onChange();
  }

  /** Drops an item the user gave up on. */
  discard(clientId: string): void {
    this.endAttempt(clientId);
    if (this.items.delete(clientId)) this.deps.onChange();
  }

  /** The socket (re)connected: every waiting item goes out again with its own clientId. */
  resendAll(): void {
    for (const item of this.items.values()) {
      if (item.status === 'failed' && item.error !== null) continue; // refused by the server; the user decides
      this.update(item.clientId, { status: 'sending', error: null });
      this.startAttempt(item.clientId);
    }
    this.deps.onChange();
  }

  /** The server's copy of a message arrived; the matching item, if any, is done. */
  confirm(message: Message): boolean {
    if (!this.items.has(message.clientId)) return false;
    if (this.items.get(message.clientId)?.conversationId !== message.conversationId) return false;
    this.endAttempt(message.clientId);
    this.items.delete(message.clientId);
    this.deps.onChange();
    return true;
  }

  dispose(): void {
    for (const clientId of this.attempts.keys()) this.endAttempt(clientId);
    this.items.clear();
  }

  private startAttempt(clientId: string): void {
    this.endAttempt(clientId);
    const attempt: Attempt = {
      id: this.nextAttemptId++,
      timer: this.deps.clock.setTimeout(
        () => this.fail(clientId, attempt.id, null),
        this.deps.failedAfterMs ?? FAILED_AFTER_MS,
      ),
    };
    this.attempts.set(clientId, attempt);
    if (this.deps.isConnected()) this.transmit(clientId, attempt.id);
  }

  private transmit(clientId: string, attemptId: number): void {
    const item = this.items.get(clientId);
    if (!item) return;
    const payload = { conversationId: item.conversationId, clientId: item.clientId, content: item.content };
    this.deps.transmit(payload).then(
      (ack) => this.settle(clientId, attemptId, ack),
      () => undefined, // the connection dropped: the timer marks it failed, a reconnect resends it
    );
  }

  private settle(clientId: string, attemptId: number, ack: Ack<Message>): void {
    if (ack.ok) {
      // Even a late ack of an earlier attempt is the server's copy: take it.
      this.deps.onDelivered(ack.data);
      this.confirm(ack.data);
      return;
    }
    if (this.attempts.get(clientId)?.id !== attemptId) return;
    if (ack.error.code === 'rate_limited' || ack.error.code === 'unavailable') {
      const waitMs =
        ack.error.code === 'rate_limited' ? Math.max(1, ack.error.retryAfter ?? 1) * 1000 : UNAVAILABLE_RETRY_MS;
      this.deps.clock.setTimeout(() => {
        if (this.attempts.get(clientId)?.id === attemptId && this.deps.isConnected())
          this.transmit(clientId, attemptId);
      }, waitMs);
      return;
    }
    this.fail(clientId, attemptId, ack.error.message || ack.error.code);
  }

  private fail(clientId: string, attemptId: number, error: string | null): void {
    if (this.attempts.get(clientId)?.id !== attemptId) return;
    this.endAttempt(clientId);
    this.update(clientId, { status: 'failed', error });
    this.deps.onChange();
  }

  private endAttempt(clientId: string): void {
    const attempt = this.attempts.get(clientId);
    if (attempt) this.deps.clock.clearTimeout(attempt.timer);
    this.attempts.delete(clientId);
  }

  private update(clientId: string, change: Partial<OutboxItem>): void {
    const item = this.items.get(clientId);
    if (item) this.items.set(clientId, { ...item, ...change });
  }
}
