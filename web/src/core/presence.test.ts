import { describe, expect, it } from 'vitest';
import { shownPresence } from './presence';
import type { ConnectionState } from './reconnect';

const presence = { 'user-bob': { status: 'online' as const, lastSeenAt: null } };
const connection = (status: ConnectionState['status']): ConnectionState => ({ status, nextRetryAt: null, failures: 0 });

describe('shown presence', () => {
  it("shows others' presence while connected", () => {
    expect(shownPresence({ connection: connection('connected'), presence }, 'user-bob')?.status).toBe('online');
    expect(shownPresence({ connection: connection('connected'), presence: {} }, 'user-bob', 'away')?.status).toBe(
      'away',
    );
  });

  it('shows it as unknown while disconnected', () => {
    expect(shownPresence({ connection: connection('reconnecting'), presence }, 'user-bob')).toBeNull();
    expect(shownPresence({ connection: connection('offline'), presence }, 'user-bob', 'online')).toBeNull();
  });
});
