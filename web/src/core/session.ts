/**
 * The signed-in session, shared by every tab of the browser.
 *
 * Invariants:
 * - Tokens live in localStorage, so every tab sees the rotated pair at once.
 * - A refresh happens inside an exclusive Web Lock and starts by re-reading the stored pair:
 *   if another tab already rotated it, this tab adopts it instead of presenting a spent
 *   refresh token (which, outside the server's grace period, would revoke the login).
 *   localStorage reaches other tabs asynchronously (a tab can read a stale copy right after
 *   another released the lock), so the pair is also kept in a durable store read and written
 *   inside the lock (IndexedDB in the browser), and the newer of the two copies wins.
 * - The access token is refreshed REFRESH_MARGIN_MS before it expires.
 * - A refresh answered 401 ends the session in every tab, with a reason to show.
 */
import type { Clock } from './clock';
import type { AuthResult, OwnUser } from './types';

export interface StoredSession {
  user: OwnUser;
  accessToken: string;
  refreshToken: string;
  /** When the access token expires, in ms since the epoch. */
  accessExpiresAt: number;
}

export type EndReason = 'signedOut' | 'expired';

export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface Locks {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** A store every tab reads consistently: what the lock holder wrote is what the next one reads. */
export interface DurableSessionStore {
  read(): Promise<StoredSession | null>;
  write(session: StoredSession | null): Promise<void>;
}

export class RefreshRefused extends Error {
  constructor() {
    super('refresh token refused');
  }
}

export interface SessionDeps {
  clock: Clock;
  storage: KeyValueStore;
  locks: Locks | null;
  durable?: DurableSessionStore;
  /** POST /api/auth/refresh; rejects with RefreshRefused on 401, with another error when unreachable. */
  refresh: (refreshToken: string) => Promise<AuthResult>;
  onChange: (session: StoredSession | null, reason: EndReason | null) => void;
}

export const STORAGE_KEY = 'parley.session';
export const ENDED_KEY = 'parley.sessionEnded';
const LOCK_NAME = 'parley.refresh';
// Refresh a minute early: clocks drift and a socket connecting with an expiring token is refused.
export const REFRESH_MARGIN_MS = 60_000;
// Try again this soon after a refresh that failed because the server was unreachable.
const RETRY_MS = 5_000;

export class Session {
  private current: StoredSession | null;
  private timer: unknown = null;
  private refreshing: Promise<StoredSession | null> | null = null;

  constructor(private readonly deps: SessionDeps) {
    this.current = this.read();
    this.schedule();
  }

  get value(): StoredSession | null {
    return this.current;
  }

  start(result: AuthResult): void {
    this.deps.storage.removeItem(ENDED_KEY);
    void this.store(toStored(result, this.deps.clock.now()));
  }

  updateUser(user: OwnUser): void {
    if (!this.current) return;
    void this.store({ ...this.current, user });
  }

  /** Ends the session in every tab. */
  end(reason: EndReason): void {
    this.deps.storage.setItem(ENDED_KEY, reason);
    this.deps.storage.removeItem(STORAGE_KEY);
    void this.deps.durable?.write(null).catch(() => undefined);
    this.adopt(null, reason);
  }

  /** Another tab changed storage (the browser's `storage` event). */
  storageChanged(): void {
    const stored = this.read();
    if (stored?.accessToken === this.current?.accessToken) return;
    const ended = this.deps.storage.getItem(ENDED_KEY);
    this.adopt(stored, stored ? null : ended === 'expired' ? 'expired' : 'signedOut');
  }

  /** An access token that is valid for at least the margin, refreshing first when needed. */
  async accessToken(): Promise<string | null> {
    const session = this.current;
    if (!session) return null;
    if (session.accessExpiresAt - this.deps.clock.now() > REFRESH_MARGIN_MS) return session.accessToken;
    return (await this.refresh())?.accessToken ?? null;
  }

  /** Rotates the pair, once across tabs. Resolves null when the session ended. */
  refresh(): Promise<StoredSession | null> {
    if (!this.refreshing) {
      this.refreshing = this.refreshExclusively().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  dispose(): void {
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private async refreshExclusively(): Promise<StoredSession | null> {
    const staleToken = this.current?.refreshToken;
    const run = () => this.rotate(staleToken);
    return this.deps.locks ? this.deps.locks.request(LOCK_NAME, run) : run();
  }

  private async rotate(staleToken: string | undefined): Promise<StoredSession | null> {
    // Another tab may have rotated while this one waited for the lock.
    const stored = newest(this.read(), await this.readDurable());
    if (!stored) {
      this.adopt(null, 'expired');
      return null;
    }
    if (stored.refreshToken !== staleToken && stored.accessExpiresAt - this.deps.clock.now() > REFRESH_MARGIN_MS) {
      this.adopt(stored, null);
      return stored;
    }
    try {
      const result = await this.deps.refresh(stored.refreshToken);
      const next = toStored(result, this.deps.clock.now());
      // Written before the lock is released, so the next holder reads this pair.
      await this.store(next);
      return next;
    } catch (error) {
      if (error instanceof RefreshRefused) {
        this.end('expired');
        return null;
      }
      this.schedule(RETRY_MS);
      throw error;
    }
  }

  private async store(session: StoredSession): Promise<void> {
    this.deps.storage.setItem(STORAGE_KEY, JSON.stringify(session));
    this.adopt(session, null);
    await this.deps.durable?.write(session).catch(() => undefined);
  }

  private async readDurable(): Promise<StoredSession | null> {
    try {
      return (await this.deps.durable?.read()) ?? null;
    } catch {
      return null;
    }
  }

  private adopt(session: StoredSession | null, reason: EndReason | null): void {
    this.current = session;
    this.schedule();
    this.deps.onChange(session, reason);
  }

  private schedule(delayMs?: number): void {
    if (this.timer !== null) this.deps.clock.clearTimeout(this.timer);
    this.timer = null;
    if (!this.current) return;
    const dueIn = delayMs ?? this.current.accessExpiresAt - REFRESH_MARGIN_MS - this.deps.clock.now();
    this.timer = this.deps.clock.setTimeout(
      () => {
        this.timer = null;
        this.refresh().catch(() => undefined);
      },
      Math.max(0, dueIn),
    );
  }

  private read(): StoredSession | null {
    const raw = this.deps.storage.getItem(STORAGE_KEY);
    if (!raw) return null;
    try {
      return JSON.parse(raw) as StoredSession;
    } catch {
      return null;
    }
  }
}

/** The more recently issued of two copies of the pair. */
function newest(a: StoredSession | null, b: StoredSession | null): StoredSession | null {
  if (!a || !b) return a ?? b;
  return b.accessExpiresAt > a.accessExpiresAt ? b : a;
}

function toStored(result: AuthResult, now: number): StoredSession {
  return {
    user: result.user,
    accessToken: result.accessToken,
    refreshToken: result.refreshToken,
    accessExpiresAt: now + result.expiresIn * 1000,
  };
}
