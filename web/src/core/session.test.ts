import { describe, expect, it } from 'vitest';
import { FakeClock } from '../test/fakeClock';
import {
  REFRESH_MARGIN_MS,
  RefreshRefused,
  Session,
  STORAGE_KEY,
  type DurableSessionStore,
  type EndReason,
  type KeyValueStore,
  type Locks,
  type StoredSession,
} from './session';
import type { AuthResult } from './types';

class MemoryStore implements KeyValueStore {
  readonly items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
}

/** An exclusive lock shared by every "tab" of a test, like navigator.locks. */
function sharedLock(): Locks {
  let queue = Promise.resolve();
  return {
    request<T>(_name: string, callback: () => Promise<T>): Promise<T> {
      const run = queue.then(callback);
      queue = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
  };
}

let tokenCounter = 0;
function auth(expiresIn = 900): AuthResult {
  tokenCounter += 1;
  return {
    user: {
      id: 'u1',
      username: 'me',
      displayName: 'Me',
      email: 'me@example.com',
      avatarUrl: null,
      createdAt: '',
      updatedAt: '',
    },
    accessToken: `access-${tokenCounter}`,
    refreshToken: `refresh-${tokenCounter}`,
    expiresIn,
  };
}

function tab(storage: KeyValueStore, locks: Locks, clock: FakeClock, refresh: (token: string) => Promise<AuthResult>) {
  const ended: (EndReason | null)[] = [];
  const session = new Session({
    clock,
    storage,
    locks,
    refresh,
    onChange: (value, reason) => !value && ended.push(reason),
  });
  return { session, ended };
}

describe('Session', () => {
  it('refreshes before the access token expires', async () => {
    const clock = new FakeClock();
    const presented: string[] = [];
    const { session } = tab(new MemoryStore(), sharedLock(), clock, async (token) => {
      presented.push(token);
      return auth();
    });
    session.start(auth());
    const first = session.value!.refreshToken;
    clock.advance(900_000 - REFRESH_MARGIN_MS);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(presented).toEqual([first]);
    expect(session.value!.refreshToken).not.toBe(first);
  });

  it('refreshes once for several tabs: the others adopt the rotated pair', async () => {
    const clock = new FakeClock();
    const storage = new MemoryStore();
    const locks = sharedLock();
    const presented: string[] = [];
    const refresh = async (token: string) => {
      presented.push(token);
      return auth();
    };
    const one = tab(storage, locks, clock, refresh);
    one.session.start(auth());
    const two = tab(storage, locks, clock, refresh);
    const three = tab(storage, locks, clock, refresh);

    clock.advance(900_000); // every tab's timer and token are due at once
    await Promise.all([one.session.refresh(), two.session.refresh(), three.session.refresh()]);
    expect(presented).toHaveLength(1);
    expect(new Set([one, two, three].map((t) => t.session.value?.refreshToken)).size).toBe(1);
    expect(JSON.parse(storage.getItem(STORAGE_KEY)!).refreshToken).toBe(one.session.value?.refreshToken);
  });

  it('ends the session with a reason when the refresh token is refused', async () => {
    const clock = new FakeClock();
    const storage = new MemoryStore();
    const { session, ended } = tab(storage, sharedLock(), clock, async () => {
      throw new RefreshRefused();
    });
    session.start(auth());
    expect(await session.refresh()).toBeNull();
    expect(session.value).toBeNull();
    expect(ended).toEqual(['expired']);
    expect(storage.getItem(STORAGE_KEY)).toBeNull();
  });

  it('keeps the session when the server cannot be reached, and tries again', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const { session } = tab(new MemoryStore(), sharedLock(), clock, async () => {
      calls += 1;
      if (calls === 1) throw new TypeError('Failed to fetch');
      return auth();
    });
    session.start(auth(30));
    await expect(session.refresh()).rejects.toThrow('Failed to fetch');
    expect(session.value).not.toBeNull();
    clock.advance(5_000);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(calls).toBe(2);
  });

  it('follows a sign-out in another tab', () => {
    const clock = new FakeClock();
    const storage = new MemoryStore();
    const locks = sharedLock();
    const one = tab(storage, locks, clock, async () => auth());
    one.session.start(auth());
    const two = tab(storage, locks, clock, async () => auth());
    one.session.end('signedOut');
    two.session.storageChanged();
    expect(two.session.value).toBeNull();
    expect(two.ended).toEqual(['signedOut']);
  });

  it('trusts the durable copy when this tab still reads a stale localStorage after the lock', async () => {
    const clock = new FakeClock();
    const staleStorage = new MemoryStore();
    let durableCopy: StoredSession | null = null;
    const durable: DurableSessionStore = {
      read: async () => durableCopy,
      write: async (value) => {
        durableCopy = value;
      },
    };
    const presented: string[] = [];
    const refresh = async (token: string) => {
      presented.push(token);
      return auth();
    };
    const locks = sharedLock();
    const one = new Session({ clock, storage: new MemoryStore(), locks, durable, refresh, onChange: () => undefined });
    one.start(auth());
    await new Promise((resolve) => setTimeout(resolve, 0));
    // The other tab's localStorage still holds the first pair when its turn comes.
    staleStorage.setItem(STORAGE_KEY, JSON.stringify(one.value));
    const two = new Session({ clock, storage: staleStorage, locks, durable, refresh, onChange: () => undefined });

    clock.advance(900_000);
    await one.refresh();
    await two.refresh();
    expect(presented).toHaveLength(1);
    expect(two.value?.refreshToken).toBe(one.value?.refreshToken);
  });
});
