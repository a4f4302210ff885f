import { describe, expect, it } from 'vitest';
import { FakeClock } from '../test/fakeClock';
import { RECONNECT_BASE_MS, RECONNECT_MAX_MS, reconnectDelayMs } from './backoff';
import { catchUp, MAX_SYNC_PAGES } from './catchUp';
import { OFFLINE_AFTER_ATTEMPTS, Reconnector, type ConnectionState } from './reconnect';
import { message } from '../test/factories';

describe('backoff', () => {
  it('doubles up to a cap, with jitter between half and all of it', () => {
    expect(reconnectDelayMs(1, () => 0)).toBe(RECONNECT_BASE_MS / 2);
    expect(reconnectDelayMs(3, () => 0.999999)).toBe(RECONNECT_BASE_MS * 4);
    expect(reconnectDelayMs(50, () => 0.999999)).toBe(RECONNECT_MAX_MS);
    const spread = new Set(Array.from({ length: 20 }, (_, i) => reconnectDelayMs(4, () => i / 20)));
    expect(spread.size).toBeGreaterThan(10);
  });
});

function setUp() {
  const clock = new FakeClock();
  const states: ConnectionState[] = [];
  let attempts = 0;
  const reconnector = new Reconnector(
    clock,
    () => (attempts += 1),
    (state) => states.push(state),
    () => 0.5,
  );
  return { clock, states, reconnector, attempts: () => attempts };
}

describe('Reconnector', () => {
  it('schedules retries further apart and says when the next one is', () => {
    const { clock, reconnector, attempts } = setUp();
    reconnector.start();
    expect(attempts()).toBe(1);

    reconnector.failed();
    const first = reconnector.current;
    expect(first.status).toBe('reconnecting');
    expect(first.nextRetryAt! - clock.now()).toBe(reconnectDelayMs(1, () => 0.5));
    clock.advance(first.nextRetryAt! - clock.now());
    expect(attempts()).toBe(2);

    reconnector.failed();
    expect(reconnector.current.nextRetryAt! - clock.now()).toBe(reconnectDelayMs(2, () => 0.5));
  });

  it('turns offline after repeated failures, and back to connected with a clean slate', () => {
    const { clock, reconnector } = setUp();
    reconnector.start();
    for (let i = 0; i < OFFLINE_AFTER_ATTEMPTS; i += 1) {
      reconnector.failed();
      clock.advance(RECONNECT_MAX_MS);
    }
    reconnector.failed();
    expect(reconnector.current.status).toBe('offline');
    reconnector.connected();
    expect(reconnector.current).toEqual({ status: 'connected', nextRetryAt: null, failures: 0 });
  });

  it('retries at once on "retry now" or when the browser comes back online', () => {
    const { reconnector, attempts } = setUp();
    reconnector.start();
    reconnector.failed();
    reconnector.setBrowserOffline(true);
    expect(reconnector.current.status).toBe('offline');
    reconnector.setBrowserOffline(false);
    expect(attempts()).toBe(2);
    reconnector.failed();
    reconnector.retryNow();
    expect(attempts()).toBe(3);
  });

  it('ignores a second failure report for the same attempt', () => {
    const { clock, reconnector, attempts } = setUp();
    reconnector.start();
    reconnector.failed();
    reconnector.failed();
    expect(reconnector.current.failures).toBe(1);
    clock.advance(RECONNECT_MAX_MS);
    expect(attempts()).toBe(2);
  });

  it('stops for good on stop', () => {
    const { clock, reconnector, attempts } = setUp();
    reconnector.start();
    reconnector.failed();
    reconnector.stop();
    clock.advance(RECONNECT_MAX_MS * 2);
    expect(attempts()).toBe(1);
  });
});

describe('catchUp', () => {
  it('pages through sync from the last seq held until the server has no more', async () => {
    const calls: number[] = [];
    const result = await catchUp(
      async (_id, afterSeq) => {
        calls.push(afterSeq);
        const items = afterSeq < 200 ? [message(afterSeq + 1), message(afterSeq + 100)] : [message(afterSeq + 1)];
        return { items, hasMore: afterSeq < 200 };
      },
      'conversation-1',
      0,
    );
    expect(calls).toEqual([0, 100, 200]);
    expect(result.kind === 'caughtUp' && result.messages.map((m) => m.seq)).toEqual([1, 100, 101, 200, 201]);
  });

  it('gives up paging when too far behind, so the caller reloads the newest page', async () => {
    let calls = 0;
    const result = await catchUp(
      async (_id, afterSeq) => {
        calls += 1;
        return { items: [message(afterSeq + 1)], hasMore: true };
      },
      'conversation-1',
      0,
    );
    expect(result.kind).toBe('tooFarBehind');
    expect(calls).toBe(MAX_SYNC_PAGES);
  });
});
