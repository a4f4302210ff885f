import { useEffect, useRef, useState, type KeyboardEvent } from 'react';

/** Editing a sent message in place: Enter saves, Shift+Enter is a new line, Escape cancels. */
export function EditBox({
  initial,
  onCancel,
  onSave,
}: {
  initial: string;
  onCancel: () => void;
  onSave: (content: string) => Promise<void>;
}) {
  const [text, setText] = useState(initial);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    const element = input.current;
    if (!element) return;
    element.focus();
    element.setSelectionRange(element.value.length, element.value.length);
  }, []);

  async function save() {
    if (!text.trim() || busy) return;
    if (text === initial) return onCancel();
    setBusy(true);
    await onSave(text);
    setBusy(false);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Escape') {
      event.preventDefault();
      onCancel();
    } else if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void save();
    }
  }

  return (
    <div className="edit-box">
      <label className="visually-hidden" htmlFor="edit-message">
        Edit message
      </label>
      <textarea
        id="edit-message"
        ref={input}
        dir="auto"
        className="edit-box__input"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKeyDown}
        rows={2}
      />
      <div className="edit-box__buttons">
        <span className="muted">Enter to save, Escape to cancel</span>
        <button type="button" className="button button--quiet" onClick={onCancel}>
          Cancel
        </button>
        <button
          type="button"
          className="button button--primary"
          onClick={() => void save()}
          disabled={busy || !text.trim()}
        >
          Save
        </button>
      </div>
    </div>
  );
}
