/**
 * Typing indicators, both ways.
 *
 * Sending: `isTyping: true` goes out at most every TYPING_REPEAT_MS while the user types,
 * and `false` once they stop (idle, sent, or left the conversation).
 * Receiving: a typing state not repeated within TYPING_STALE_MS is dropped.
 */
import type { Clock } from './clock';
import type { UserTyping } from './types';

// The contract: repeat at most every 3 s, drop after 6 s without a repeat.
export const TYPING_REPEAT_MS = 3_000;
export const TYPING_STALE_MS = 6_000;
// Stopping typing for this long counts as no longer typing.
export const TYPING_IDLE_MS = 4_000;

export class TypingSender {
  private lastSentAt: number | null = null;
  private idleTimer: unknown = null;

  constructor(
    private readonly clock: Clock,
    private readonly send: (isTyping: boolean) => void,
  ) {}

  /** A keystroke in the composer. */
  input(): void {
    const now = this.clock.now();
    if (this.lastSentAt === null || now - this.lastSentAt >= TYPING_REPEAT_MS) {
      this.lastSentAt = now;
      this.send(true);
    }
    if (this.idleTimer !== null) this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = this.clock.setTimeout(() => this.stop(), TYPING_IDLE_MS);
  }

  /** The user sent, cleared the text, or left: tell the others at once. */
  stop(): void {
    if (this.idleTimer !== null) this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.lastSentAt === null) return;
    this.lastSentAt = null;
    this.send(false);
  }
}

/** Who is typing where, as the server reports it, with stale states expiring. */
export class TypingTracker {
  // conversationId -> userId -> expiry (ms since the epoch)
  private readonly states = new Map<string, Map<string, number>>();
  private sweepTimer: unknown = null;

  constructor(
    private readonly clock: Clock,
    private readonly onChange: () => void,
  ) {}

  apply(event: UserTyping): void {
    const users = this.states.get(event.conversationId) ?? new Map<string, number>();
    const had = users.has(event.userId);
    if (event.isTyping) users.set(event.userId, this.clock.now() + TYPING_STALE_MS);
    else users.delete(event.userId);
    if (users.size > 0) this.states.set(event.conversationId, users);
    else this.states.delete(event.conversationId);
    this.scheduleSweep();
    if (had !== event.isTyping || event.isTyping) this.onChange();
  }

  /** A user's message arrived: they are done typing it. */
  clear(conversationId: string, userId: string): void {
    const users = this.states.get(conversationId);
    if (users?.delete(userId)) this.onChange();
  }

  /** User ids typing in the conversation, in the order they started. */
  typists(conversationId: string): string[] {
    const users = this.states.get(conversationId);
    if (!users) return [];
    const now = this.clock.now();
    return [...users.entries()].filter(([, expiresAt]) => expiresAt > now).map(([userId]) => userId);
  }

  clearAll(): void {
    this.states.clear();
    this.onChange();
  }

  dispose(): void {
    if (this.sweepTimer !== null) this.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
  }

  private scheduleSweep(): void {
    if (this.sweepTimer !== null) this.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
    let nextExpiry = Infinity;
    for (const users of this.states.values())
      for (const expiresAt of users.values()) nextExpiry = Math.min(nextExpiry, expiresAt);
    if (nextExpiry === Infinity) return;
    this.sweepTimer = this.clock.setTimeout(() => this.sweep(), Math.max(0, nextExpiry - this.clock.now()));
  }

  private sweep(): void {
    this.sweepTimer = null;
    const now = this.clock.now();
    let changed = false;
    for (const [conversationId, users] of this.states) {
      for (const [userId, expiresAt] of users) {
        if (expiresAt <= now) {
          users.delete(userId);
          changed = true;
        }
      }
      if (users.size === 0) this.states.delete(conversationId);
    }
    this.scheduleSweep();
    if (changed) this.onChange();
  }
}
