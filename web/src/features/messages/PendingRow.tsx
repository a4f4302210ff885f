import { useChatClient } from '../../app/chatContext';
import type { OutboxItem } from '../../core/outbox';
import { RichText } from '../../ui/RichText';

/** A message the server has not acknowledged yet: "sending", or "failed" with a retry. */
export function PendingRow({ item }: { item: OutboxItem }) {
  const client = useChatClient();
  const failed = item.status === 'failed';
  return (
    <div className="message message--mine message--first" data-status={item.status} data-client-id={item.clientId}>
      <div className={`bubble bubble--mine${failed ? ' bubble--failed' : ' bubble--sending'}`}>
        <p className="bubble__text" dir="auto">
          <RichText text={item.content} />
        </p>
      </div>
      <div className="message__meta message__meta--mine">
        {failed ? (
          <span className="message__status message__status--failed" role="alert">
            Failed{item.error ? `: ${item.error}` : ''}
            <button type="button" className="link-button" onClick={() => client.retry(item.clientId)}>
              Retry
            </button>
            <button type="button" className="link-button" onClick={() => client.discard(item.clientId)}>
              Discard
            </button>
          </span>
        ) : (
          <span className="message__status">Sending…</span>
        )}
      </div>
    </div>
  );
}
