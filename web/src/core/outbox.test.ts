import { describe, expect, it } from 'vitest';
import { FakeClock } from '../test/fakeClock';
import { message } from '../test/factories';
import { FAILED_AFTER_MS, Outbox, type SendPayload } from './outbox';
import type { Ack, Message } from './types';

function setUp({ connected = true } = {}) {
  const clock = new FakeClock();
  const sent: { payload: SendPayload; resolve: (ack: Ack<Message>) => void }[] = [];
  const delivered: Message[] = [];
  let isConnected = connected;
  const outbox = new Outbox({
    clock,
    isConnected: () => isConnected,
    transmit: (payload) => new Promise((resolve) => sent.push({ payload, resolve })),
    onDelivered: (m) => delivered.push(m),
    onChange: () => undefined,
  });
  return { clock, sent, delivered, outbox, setConnected: (value: boolean) => (isConnected = value) };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function stored(payload: SendPayload, seq = 1): Message {
  return message(seq, {
    conversationId: payload.conversationId,
    clientId: payload.clientId,
    content: payload.content,
    senderId: 'user-me',
  });
}

describe('Outbox', () => {
  it('sends at once while connected and forgets the item on its ack', async () => {
    const { outbox, sent, delivered } = setUp();
    outbox.enqueue({ clientId: 'c1', conversationId: 'conversation-1', content: 'hi' });
    expect(outbox.list('conversation-1')).toMatchObject([{ clientId: 'c1', status: 'sending' }]);
    expect(sent).toHaveLength(1);

    sent[0]!.resolve({ ok: true, data: stored(sent[0]!.payload) });
    await flush();
    expect(outbox.list('conversation-1')).toEqual([]);
    expect(delivered.map((m) => m.clientId)).toEqual(['c1']);
  });

  it('keeps sends in the outbox while disconnected, not in the socket', () => {
    const { outbox, sent } = setUp({ connected: false });
    outbox.enqueue({ clientId: 'c1', conversationId: 'conversation-1', content: 'hi' });
    expect(sent).toHaveLength(0);
    expect(outbox.list('conversation-1')[0]?.status).toBe('sending');
  });

  it('marks a send without an ack failed after ten seconds', () => {
    const { outbox, clock } = setUp();
    outbox.enqueue({ clientId: 'c1', conversationId: 'conversation-1', content: 'hi' });
    clock.advance(FAILED_AFTER_MS - 1);
    expect(outbox.list('conversation-1')[0]?.status).toBe('sending');
    clock.advance(1);
    expect(outbox.list('conversation-1')[0]).toMatchObject({ status: 'failed', error: null });
  });

  it('resends everything waiting on reconnect with the same clientIds', () => {
    const { outbox, sent, clock, setConnected } = setUp({ connected: false });
    outbox.enqueue({ clientId: 'c1', conversationId: 'conversation-1', content: 'one' });
    clock.advance(FAILED_AFTER_MS); // c1 failed
    outbox.enqueue({ clientId: 'c2', conversationId: 'conversation-1', content: 'two' });

    setConnected(true);
    outbox.resendAll();
    expect(sent.map((s) => s.payload.clientId)).toEqual(['c1', 'c2']);
    expect(outbox.list('conversation-1').map((item) => item.status)).toEqual(['sending', 'sending']);
  });

  it('retry sends a failed item again with its clientId and restarts the timer', () => {
    const { outbox, sent, clock } = setUp();
    outbox.enqueue({ clientId: 'c1', conversationId: 'conversation-1', content: 'hi' });
    clock.advance(FAILED_AFTER_MS);
    outbox.retry('c1');
    expect(sent.map((s) => s.payload.clientId)).toEqual(['c1', 'c1']);
    expect(outbox.list('conversation-1')[0]?.status).toBe('sending');
    clock.advance(FAILED_AFTER_MS);
    expect(outbox.list('conversation-1')[0]?.status).toBe('failed');
  });

  it('takes a late ack of an earlier attempt as delivery', async () => {
    const { outbox, sent, clock, delivered } = setUp();
    outbox.enqueue({ clientId: 'c1', conversationId: 'conversation-1', content: 'hi' });
    clock.advance(FAILED_AFTER_MS);
    outbox.retry('c1');
    sent[0]!.resolve({ ok: true, data: stored(sent[0]!.payload) });
    await flush();
    expect(outbox.list('conversation-1')).toEqual([]);
    expect(delivered).toHaveLength(1);
  });

  it('is confirmed by the live copy of the message, matched by clientId', () => {
    const { outbox, sent } = setUp();
    outbox.enqueue({ clientId: 'c1', conversationId: 'conversation-1', content: 'hi' });
    expect(outbox.confirm(stored(sent[0]!.payload))).toBe(true);
    expect(outbox.list('conversation-1')).toEqual([]);
    expect(outbox.confirm(message(2, { clientId: 'other' }))).toBe(false);
  });

  it('shows a refusal at once and does not resend it by itself', async () => {
    const { outbox, sent } = setUp();
    outbox.enqueue({ clientId: 'c1', conversationId: 'conversation-1', content: ' ' });
    sent[0]!.resolve({ ok: false, error: { code: 'validation_error', message: 'content is blank' } });
    await flush();
    expect(outbox.list('conversation-1')[0]).toMatchObject({ status: 'failed', error: 'content is blank' });
    outbox.resendAll();
    expect(sent).toHaveLength(1);
  });

  it('waits out a rate limit and sends the same item again', async () => {
    const { outbox, sent, clock } = setUp();
    outbox.enqueue({ clientId: 'c1', conversationId: 'conversation-1', content: 'hi' });
    sent[0]!.resolve({ ok: false, error: { code: 'rate_limited', message: 'slow down', retryAfter: 2 } });
    await flush();
    clock.advance(1999);
    expect(sent).toHaveLength(1);
    clock.advance(1);
    expect(sent.map((s) => s.payload.clientId)).toEqual(['c1', 'c1']);
  });

  it('keeps sending through "unavailable", then fails only when the attempt runs out', async () => {
    const { outbox, sent, clock } = setUp();
    outbox.enqueue({ clientId: 'c1', conversationId: 'conversation-1', content: 'hi' });
    sent[0]!.resolve({ ok: false, error: { code: 'unavailable', message: 'server is shutting down' } });
    await flush();
    expect(outbox.list('conversation-1')[0]!.status).toBe('sending');
    clock.advance(1000);
    expect(sent.map((s) => s.payload.clientId)).toEqual(['c1', 'c1']);
    sent[1]!.resolve({ ok: false, error: { code: 'unavailable', message: 'database unavailable' } });
    await flush();
    clock.advance(9000);
    expect(outbox.list('conversation-1')[0]!.status).toBe('failed');
    expect(outbox.list('conversation-1')[0]!.error).toBeNull(); // sent again on the next connect
  });

  it('lists pending items of a conversation oldest first', () => {
    const { outbox, clock } = setUp({ connected: false });
    outbox.enqueue({ clientId: 'b', conversationId: 'conversation-1', content: 'first' });
    clock.advance(5);
    outbox.enqueue({ clientId: 'a', conversationId: 'conversation-1', content: 'second' });
    outbox.enqueue({ clientId: 'x', conversationId: 'conversation-2', content: 'elsewhere' });
    expect(outbox.list('conversation-1').map((item) => item.content)).toEqual(['first', 'second']);
  });

  it('restores saved items to send on the next connect, keeping refused ones failed', () => {
    const { outbox, sent, setConnected } = setUp({ connected: false });
    outbox.restore([
      { clientId: 'c1', conversationId: 'conversation-1', content: 'one', createdAt: 1, status: 'failed', error: null },
      {
        clientId: 'c2',
        conversationId: 'conversation-1',
        content: 'two',
        createdAt: 2,
        status: 'failed',
        error: 'too long',
      },
    ]);
    expect(outbox.list('conversation-1').map((item) => item.status)).toEqual(['sending', 'failed']);
    setConnected(true);
    outbox.resendAll();
    expect(sent.map((s) => s.payload.clientId)).toEqual(['c1']);
  });
});
