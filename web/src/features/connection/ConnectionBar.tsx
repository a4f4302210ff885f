import { useChat, useChatClient } from '../../app/chatContext';
import { useNow } from '../../ui/useNow';

/** Green when connected, yellow while reconnecting (with the next try), red when offline. */
export function ConnectionBar() {
  const connection = useChat((state) => state.connection);
  const client = useChatClient();
  const now = useNow(connection.nextRetryAt !== null);

  const seconds =
    connection.nextRetryAt === null ? null : Math.max(0, Math.ceil((connection.nextRetryAt - now) / 1000));
  let text: string;
  switch (connection.status) {
    case 'connected':
      text = 'Connected';
      break;
    case 'connecting':
      text = 'Connecting…';
      break;
    case 'reconnecting':
      text = seconds === null ? 'Reconnecting…' : `Reconnecting in ${seconds} s`;
      break;
    case 'offline':
      text = seconds === null ? 'Offline. Trying to reconnect…' : `Offline. Next try in ${seconds} s`;
      break;
  }
  return (
    <div
      className={`connection connection--${connection.status}`}
      role="status"
      aria-live="polite"
      data-status={connection.status}
    >
      <span className="connection__dot" aria-hidden="true" />
      <span className={connection.status === 'connected' ? 'visually-hidden' : 'connection__text'}>{text}</span>
      {connection.nextRetryAt !== null && (
        <button type="button" className="connection__retry" onClick={() => client.retryConnection()}>
          Retry now
        </button>
      )}
    </div>
  );
}
