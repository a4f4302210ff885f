/** Reconnection delays: exponential, capped, with jitter so a restarted server is not hit by every client at once. */

export const RECONNECT_BASE_MS = 500;
// Ten seconds keeps a returning server's users waiting little while still spacing out retries.
export const RECONNECT_MAX_MS = 10_000;

/**
 * The delay before reconnection attempt `attempt` (1 for the first retry).
 * The exponential delay is scaled by a random factor in [0.5, 1), "equal jitter".
 */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  const capped = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(exponent, 20));
  return Math.round(capped * (0.5 + random() * 0.5));
}
