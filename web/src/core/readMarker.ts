/**
 * Advances the user's read marker as messages become visible in a focused window.
 * Sends at most one `markRead` at a time and never a seq at or below what was sent.
 */
export class ReadMarker {
  private sent = 0;
  private wanted = 0;
  private inFlight = false;

  constructor(private readonly send: (seq: number) => Promise<unknown>) {}

  /** The server's marker, from the conversation or a receipt. */
  known(seq: number): void {
    this.sent = Math.max(this.sent, seq);
  }

  /** The newest seq on screen, while the window is focused and visible. */
  seen(seq: number): void {
    if (seq <= this.sent || seq <= this.wanted) return;
    this.wanted = seq;
    void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.wanted <= this.sent) return;
    this.inFlight = true;
    const seq = this.wanted;
    try {
      await this.send(seq);
      this.sent = Math.max(this.sent, seq);
    } catch {
      this.wanted = this.sent; // seen again on the next scroll or focus
    } finally {
      this.inFlight = false;
    }
    if (this.wanted > this.sent) void this.flush();
  }
}
