/** The one Session of this tab, wired to the browser: localStorage, Web Locks, storage events. */
import { useSyncExternalStore } from 'react';
import { publicApi } from '../api/rest';
import { systemClock } from '../core/clock';
import { Session, type DurableSessionStore, type EndReason, type Locks, type StoredSession } from '../core/session';

interface SessionSnapshot {
  session: StoredSession | null;
  endReason: EndReason | null;
}

let snapshot: SessionSnapshot = { session: null, endReason: null };
const listeners = new Set<() => void>();

function browserLocks(): Locks | null {
  const locks = globalThis.navigator?.locks;
  if (!locks) return null;
  return {
    // The DOM typing wraps the callback's promise once more; at run time it resolves to the callback's value.
    request: <T>(name: string, callback: () => Promise<T>) =>
      locks.request(name, { mode: 'exclusive' }, callback) as unknown as Promise<T>,
  };
}

/** The pair in IndexedDB, which every tab reads consistently (localStorage propagates late). */
function indexedDbStore(): DurableSessionStore | undefined {
  if (!globalThis.indexedDB) return undefined;
  const KEY = 'current';
  let database: Promise<IDBDatabase> | null = null;
  const open = () =>
    (database ??= new Promise((resolve, reject) => {
      const request = indexedDB.open('parley', 1);
      request.onupgradeneeded = () => request.result.createObjectStore('session');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    }));
  const run = <T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest<T>) =>
    open().then(
      (db) =>
        new Promise<T>((resolve, reject) => {
          const transaction = db.transaction('session', mode);
          const request = action(transaction.objectStore('session'));
          transaction.oncomplete = () => resolve(request.result);
          transaction.onerror = () => reject(transaction.error);
        }),
    );
  return {
    read: () =>
      run('readonly', (store) => store.get(KEY) as IDBRequest<StoredSession | undefined>).then((v) => v ?? null),
    write: (value) =>
      (value
        ? run('readwrite', (store) => store.put(value, KEY))
        : run('readwrite', (store) => store.delete(KEY))
      ).then(() => undefined),
  };
}

export const session = new Session({
  clock: systemClock,
  storage: window.localStorage,
  locks: browserLocks(),
  durable: indexedDbStore(),
  refresh: (refreshToken) => publicApi.refresh(refreshToken),
  onChange: (value, reason) => {
    const sameUser = value?.user.id === snapshot.session?.user.id;
    snapshot = { session: value, endReason: value ? null : reason };
    // Token rotations re-render nothing; only signing in or out does.
    if (!sameUser || !value) for (const listener of listeners) listener();
    else snapshot = { session: value, endReason: null };
  },
});
snapshot = { session: session.value, endReason: null };

window.addEventListener('storage', (event) => {
  if (event.key === null || event.key.startsWith('parley.')) session.storageChanged();
});

export function useSession(): SessionSnapshot {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => snapshot,
  );
}

export async function signOut(): Promise<void> {
  const refreshToken = session.value?.refreshToken;
  const userId = session.value?.user.id;
  // Unsent messages are the signed-out user's business only.
  if (userId) window.sessionStorage.removeItem(`parley.outbox.${userId}`);
  session.end('signedOut');
  if (refreshToken) await publicApi.logout(refreshToken).catch(() => undefined);
}
