import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useChatClient } from '../../app/chatContext';
import { requestEditLast } from '../../app/editRequests';

// The contract's limit on message content, in code points.
const MAX_CONTENT = 4000;

export function Composer({ conversationId }: { conversationId: string }) {
  const client = useChatClient();
  const [text, setText] = useState('');
  const textarea = useRef<HTMLTextAreaElement>(null);
  const length = [...text].length;
  const canSend = text.trim().length > 0 && length <= MAX_CONTENT;

  useEffect(() => {
    // Phones would pop the keyboard over the history; desktops start typing at once.
    if (window.matchMedia('(min-width: 768px)').matches) textarea.current?.focus();
  }, [conversationId]);

  useEffect(() => autoGrow(textarea.current), [text]);

  function send() {
    if (!canSend) return;
    client.send(conversationId, text);
    setText('');
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === 'ArrowUp' && text === '') {
      event.preventDefault();
      requestEditLast(conversationId);
    }
  }

  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <label htmlFor="composer-input" className="visually-hidden">
        Message
      </label>
      <textarea
        id="composer-input"
        ref={textarea}
        className="composer__input"
        rows={1}
        dir="auto"
        placeholder="Message"
        value={text}
        onChange={(event) => {
          setText(event.target.value);
          if (event.target.value) client.typed(conversationId);
          else client.stoppedTyping(conversationId);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => client.stoppedTyping(conversationId)}
        aria-describedby={length > MAX_CONTENT ? 'composer-too-long' : undefined}
      />
      {length > MAX_CONTENT && (
        <span id="composer-too-long" className="composer__limit" role="alert">
          {length - MAX_CONTENT} characters over the limit
        </span>
      )}
      <button type="submit" className="composer__send" disabled={!canSend} aria-label="Send">
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
          <path d="M4 12l16-8-6 16-2.5-6.5L4 12z" fill="currentColor" />
        </svg>
      </button>
    </form>
  );
}

function autoGrow(element: HTMLTextAreaElement | null): void {
  if (!element) return;
  element.style.height = 'auto';
  element.style.height = `${Math.min(element.scrollHeight, 200)}px`;
}
