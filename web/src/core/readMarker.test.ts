import { describe, expect, it } from 'vitest';
import { FakeClock } from '../test/fakeClock';
import { ActivityMonitor, AWAY_AFTER_MS, type OwnStatus } from './activity';
import { ReadMarker } from './readMarker';

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('ReadMarker', () => {
  it('sends only forward moves, one at a time, the newest seen last', async () => {
    const sent: number[] = [];
    const pending: (() => void)[] = [];
    const marker = new ReadMarker((seq) => {
      sent.push(seq);
      return new Promise<void>((resolve) => pending.push(resolve));
    });
    marker.known(3);
    marker.seen(2);
    marker.seen(5);
    marker.seen(7);
    marker.seen(6);
    expect(sent).toEqual([5]);
    pending.shift()!();
    await flush();
    expect(sent).toEqual([5, 7]);
    pending.shift()!();
    await flush();
    marker.seen(7);
    expect(sent).toEqual([5, 7]);
  });

  it('tries again on the next sighting after a failed send', async () => {
    const sent: number[] = [];
    let fail = true;
    const marker = new ReadMarker(async (seq) => {
      sent.push(seq);
      if (fail) throw new Error('not connected');
    });
    marker.seen(4);
    await flush();
    fail = false;
    marker.seen(4);
    await flush();
    expect(sent).toEqual([4, 4]);
  });
});

describe('ActivityMonitor', () => {
  it('is away after five minutes without input or while hidden, online again on input', () => {
    const clock = new FakeClock();
    const changes: OwnStatus[] = [];
    const monitor = new ActivityMonitor(clock, (status) => changes.push(status));
    clock.advance(AWAY_AFTER_MS - 1);
    expect(monitor.current).toBe('online');
    clock.advance(1);
    expect(changes).toEqual(['away']);
    monitor.input();
    expect(changes).toEqual(['away', 'online']);
    monitor.setHidden(true);
    monitor.input();
    expect(monitor.current).toBe('away');
    monitor.setHidden(false);
    expect(changes).toEqual(['away', 'online', 'away', 'online']);
  });
});
