import { useChat } from '../../app/chatContext';
import { typingLabel } from '../../core/format';
import type { Conversation } from '../../core/types';

const NO_ONE: string[] = [];

export function TypingIndicator({ conversation }: { conversation: Conversation }) {
  const typists = useChat((state) => state.typing[conversation.id] ?? NO_ONE);
  const names = typists.map((id) => conversation.participants.find((p) => p.id === id)?.displayName ?? 'Someone');
  return (
    <div className="typing" aria-live="polite" data-testid="typing-indicator">
      {names.length > 0 && (
        <>
          <span className="typing__dots" aria-hidden="true">
            <span />
            <span />
            <span />
          </span>
          <span className="typing__text">
            {typingLabel(conversation.type === 'direct' ? names.slice(0, 1) : names)}
          </span>
        </>
      )}
    </div>
  );
}
