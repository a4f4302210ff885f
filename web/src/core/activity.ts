/**
 * The user's own presence: away after AWAY_AFTER_MS without input or while the tab is
 * hidden, online otherwise. Each tab reports its own status; the server combines them.
 */
import type { Clock } from './clock';

export type OwnStatus = 'online' | 'away';

// Five minutes without touching the page reads as away, as in most chat apps.
export const AWAY_AFTER_MS = 5 * 60_000;

export class ActivityMonitor {
  private lastInputAt: number;
  private hidden = false;
  private status: OwnStatus = 'online';
  private timer: unknown = null;

  constructor(
    private readonly clock: Clock,
    private readonly onStatus: (status: OwnStatus) => void,
  ) {
    this.lastInputAt = clock.now();
    this.schedule();
  }

  get current(): OwnStatus {
    return this.status;
  }

  input(): void {
    this.lastInputAt = this.clock.now();
    this.evaluate();
    this.schedule();
  }

  setHidden(hidden: boolean): void {
    this.hidden = hidden;
    if (!hidden) this.lastInputAt = this.clock.now();
    this.evaluate();
    this.schedule();
  }

  dispose(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
  }

  private evaluate(): void {
    const idle = this.clock.now() - this.lastInputAt >= AWAY_AFTER_MS;
    const next: OwnStatus = this.hidden || idle ? 'away' : 'online';
    if (next === this.status) return;
    this.status = next;
    this.onStatus(next);
  }

  private schedule(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    const dueIn = this.lastInputAt + AWAY_AFTER_MS - this.clock.now();
    this.timer = this.clock.setTimeout(() => this.evaluate(), Math.max(0, dueIn));
  }
}
