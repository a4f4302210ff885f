import type { OwnUser } from '../core/types';
import { ConnectionBar } from '../features/connection/ConnectionBar';
import { ConversationList } from '../features/conversations/ConversationList';
import { ConversationView } from '../features/messages/ConversationView';
import { ChatContext } from './chatContext';
import { useConversationRoute } from './route';
import { UnreadTitle } from './UnreadTitle';
import { useChatSetup } from './useChatSetup';

export function ChatApp({ me }: { me: OwnUser }) {
  const client = useChatSetup(me);
  const conversationId = useConversationRoute();

  if (!client) return <div className="splash" aria-busy="true" />;
  return (
    <ChatContext.Provider value={client}>
      <div className={`shell ${conversationId ? 'shell--conversation' : 'shell--list'}`}>
        <UnreadTitle />
        <ConnectionBar />
        <div className="panes">
          <aside className="pane pane--list" aria-label="Conversations">
            <ConversationList selectedId={conversationId} />
          </aside>
          <main className="pane pane--conversation">
            {conversationId ? (
              <ConversationView key={conversationId} conversationId={conversationId} />
            ) : (
              <div className="empty-state">
                <p className="empty-state__title">No conversation selected</p>
                <p>Pick one from the list, or start a new one.</p>
              </div>
            )}
          </main>
        </div>
      </div>
    </ChatContext.Provider>
  );
}
