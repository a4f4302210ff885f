/**
 * The connection's state machine: connecting, connected, reconnecting with a scheduled
 * retry (exponential backoff with jitter), offline when the browser says so or after
 * OFFLINE_AFTER_ATTEMPTS failures in a row (retries continue, further apart).
 */
import { reconnectDelayMs } from './backoff';
import type { Clock } from './clock';

export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface ConnectionState {
  status: ConnectionStatus;
  /** When the next attempt starts (ms since the epoch), while waiting for it. */
  nextRetryAt: number | null;
  /** Failed attempts since the last successful connection. */
  failures: number;
}

// After this many failures in a row the server is treated as down, not just blinking.
export const OFFLINE_AFTER_ATTEMPTS = 4;

export class Reconnector {
  private state: ConnectionState = { status: 'connecting', nextRetryAt: null, failures: 0 };
  private timer: unknown = null;
  private browserOffline = false;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    /** Starts one connection attempt; its outcome comes back through connected() or failed(). */
    private readonly attempt: () => void,
    private readonly onState: (state: ConnectionState) => void,
    private readonly random: () => number = Math.random,
  ) {}

  get current(): ConnectionState {
    return this.state;
  }

  start(): void {
    this.stopped = false;
    this.set({ status: 'connecting', nextRetryAt: null, failures: 0 });
    this.attempt();
  }

  connected(): void {
    this.cancel();
    this.set({ status: 'connected', nextRetryAt: null, failures: 0 });
  }

  /** An attempt failed or a live connection dropped: wait, then try again. */
  failed(): void {
    if (this.stopped || this.timer !== null) return;
    const failures = this.state.failures + 1;
    const delayMs = reconnectDelayMs(failures, this.random);
    const nextRetryAt = this.clock.now() + delayMs;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      if (this.stopped) return;
      this.set({ ...this.state, nextRetryAt: null });
      this.attempt();
    }, delayMs);
    this.set({ status: this.offline(failures) ? 'offline' : 'reconnecting', nextRetryAt, failures });
  }

  /** "Retry now", or the browser came back online. */
  retryNow(): void {
    if (this.stopped || this.state.status === 'connected') return;
    if (this.timer === null && this.state.nextRetryAt === null) return; // an attempt is running
    this.cancel();
    this.set({ ...this.state, nextRetryAt: null });
    this.attempt();
  }

  setBrowserOffline(offline: boolean): void {
    this.browserOffline = offline;
    if (!offline) {
      this.retryNow();
      return;
    }
    if (this.state.status !== 'connected') this.set({ ...this.state, status: 'offline' });
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private offline(failures: number): boolean {
    return this.browserOffline || failures >= OFFLINE_AFTER_ATTEMPTS;
  }

  private cancel(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private set(state: ConnectionState): void {
    this.state = state;
    this.onState(state);
  }
}
