// @vitest-environment jsdom
import { cleanup, fireEvent, render } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatContext } from '../../app/chatContext';
import type { ChatClient } from '../../core/chatClient';
import { Composer } from './Composer';

afterEach(cleanup);

function renderComposer() {
  const calls: string[] = [];
  const client = {
    send: (_id: string, content: string) => calls.push(`send:${content}`),
    typed: () => calls.push('typed'),
    stoppedTyping: () => calls.push('stopped'),
  } as unknown as ChatClient;
  window.matchMedia ??= (() => ({ matches: false })) as unknown as typeof window.matchMedia;
  const view = render(
    <ChatContext.Provider value={client}>
      <Composer conversationId="c1" />
    </ChatContext.Provider>,
  );
  const input = view.getByRole('textbox', { name: 'Message' }) as HTMLTextAreaElement;
  return { calls, input, view };
}

describe('Composer', () => {
  it('sends on Enter and clears the box', () => {
    const { calls, input } = renderComposer();
    fireEvent.change(input, { target: { value: 'hello' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(calls).toEqual(['typed', 'send:hello']);
    expect(input.value).toBe('');
  });

  it('keeps Shift+Enter for a new line', () => {
    const { calls, input } = renderComposer();
    fireEvent.change(input, { target: { value: 'line one' } });
    fireEvent.keyDown(input, { key: 'Enter', shiftKey: true });
    expect(calls).not.toContain('send:line one');
  });

  it('does not send white space alone', () => {
    const { calls, input, view } = renderComposer();
    fireEvent.change(input, { target: { value: '   ' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(calls.filter((call) => call.startsWith('send'))).toEqual([]);
    expect((view.getByRole('button', { name: 'Send' }) as HTMLButtonElement).disabled).toBe(true);
  });
});
