/**
 * The client's state and everything that changes it: the conversation list, loaded
 * histories, the outbox, typing, receipts and presence. React reads it through
 * `subscribe`/`getState`; nothing here knows about React.
 *
 * Invariants:
 * - Histories are keyed by seq; a live event that races a catch-up is dropped as a
 *   duplicate, and a jump in seq fetches the hole.
 * - On every (re)connect the conversation list is reloaded and every loaded history asks
 *   `sync` from the last seq it holds, after the socket is in its rooms: nothing is missed.
 * - The outbox is resent on every connect with the same clientIds: nothing duplicates.
 */
import type { Clock } from './clock';
import { catchUp, type SyncFn } from './catchUp';
import { newClientId } from './ids';
import { Outbox, type OutboxItem } from './outbox';
import { ReadMarker } from './readMarker';
import type { ConnectionState } from './reconnect';
import {
  applyDeletion,
  emptyTimeline,
  findBySeq,
  gapBefore,
  mergeMessages,
  prependPage,
  type Timeline,
} from './timeline';
import { TypingSender, TypingTracker } from './typing';
import type {
  Ack,
  Conversation,
  Message,
  MessageDeleted,
  MessagePage,
  OwnUser,
  Page,
  Participant,
  Presence,
  PresenceEvent,
  PublicUser,
  ReadReceipt,
  UserTyping,
} from './types';
import { applyDeletedMessage, applyEditedMessage, applyNewMessage, applyReadReceipt, myLastReadSeq } from './unread';

export interface PresenceInfo {
  status: Presence;
  lastSeenAt: string | null;
}

export interface ChatState {
  me: OwnUser;
  connection: ConnectionState;
  conversations: Record<string, Conversation>;
  conversationsLoaded: boolean;
  /** The cursor of the next page of older conversations, null when all are loaded. */
  conversationsCursor: string | null;
  timelines: Record<string, Timeline>;
  loadingOlder: Record<string, boolean>;
  outbox: Record<string, OutboxItem[]>;
  typing: Record<string, string[]>;
  presence: Record<string, PresenceInfo>;
}

/** The REST calls the client needs (see api/rest.ts). */
export interface ChatApi {
  listConversations(before: string | null, limit?: number): Promise<Page<Conversation>>;
  getConversation(id: string): Promise<Conversation>;
  olderMessages(id: string, beforeSeq: number | null, limit?: number): Promise<MessagePage>;
  createDirect(otherId: string): Promise<Conversation>;
  createGroup(name: string, participantIds: string[]): Promise<Conversation>;
  renameGroup(id: string, name: string): Promise<Conversation>;
  addParticipants(id: string, userIds: string[]): Promise<Conversation>;
  removeParticipant(id: string, userId: string): Promise<void>;
  editMessage(id: string, content: string): Promise<Message>;
  deleteMessage(id: string): Promise<void>;
  searchUsers(query: string, limit?: number): Promise<{ items: PublicUser[] }>;
}

export interface ChatLink {
  readonly connected: boolean;
  /** Skips the wait before the next reconnection attempt. */
  retryNow(): void;
  request<T>(event: string, payload: unknown): Promise<Ack<T>>;
}

/** Where the outbox survives a reload of the page (the tab's sessionStorage in the browser). */
export interface OutboxStore {
  load(): OutboxItem[];
  save(items: readonly OutboxItem[]): void;
}

export interface ChatClientDeps {
  me: OwnUser;
  api: ChatApi;
  link: ChatLink;
  clock: Clock;
  outboxStore?: OutboxStore;
  failedAfterMs?: number;
}

export const PAGE_SIZE = 100;
// The list loads this many pages of conversations; older ones come with new activity.
const MAX_CONVERSATION_PAGES = 4;

export class ChatClient {
  private state: ChatState;
  private readonly listeners = new Set<() => void>();
  private readonly outbox: Outbox;
  private readonly typingTracker: TypingTracker;
  private readonly typingSenders = new Map<string, TypingSender>();
  private readonly readMarkers = new Map<string, ReadMarker>();
  private readonly catchingUp = new Map<string, Promise<void>>();
  private readonly fetchingConversation = new Map<string, Promise<void>>();
  private initialLoad: Promise<void> | null = null;
  // Loads of the list started, and the newest one applied: an older answer never overwrites a newer.
  private listLoadsStarted = 0;
  private listLoadApplied = 0;

  constructor(private readonly deps: ChatClientDeps) {
    this.state = {
      me: deps.me,
      connection: { status: 'connecting', nextRetryAt: null, failures: 0 },
      conversations: {},
      conversationsLoaded: false,
      conversationsCursor: null,
      timelines: {},
      loadingOlder: {},
      outbox: {},
      typing: {},
      presence: {},
    };
    this.outbox = new Outbox({
      clock: deps.clock,
      isConnected: () => deps.link.connected,
      transmit: (payload) => deps.link.request<Message>('sendMessage', payload),
      onDelivered: (message) => this.receiveMessage(message),
      onChange: () => this.syncOutbox(),
      failedAfterMs: deps.failedAfterMs,
    });
    this.typingTracker = new TypingTracker(deps.clock, () => this.syncTyping());
    const saved = deps.outboxStore?.load() ?? [];
    if (saved.length > 0) this.outbox.restore(saved);
  }

  // ---- store plumbing -------------------------------------------------------------

  getState = (): ChatState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private set(change: Partial<ChatState>): void {
    this.state = { ...this.state, ...change };
    for (const listener of this.listeners) listener();
  }

  private setConversation(conversation: Conversation): void {
    this.set({ conversations: { ...this.state.conversations, [conversation.id]: conversation } });
  }

  private setTimeline(conversationId: string, timeline: Timeline): void {
    if (this.state.timelines[conversationId] === timeline) return;
    this.set({ timelines: { ...this.state.timelines, [conversationId]: timeline } });
  }

  dispose(): void {
    this.outbox.dispose();
    this.typingTracker.dispose();
    for (const sender of this.typingSenders.values()) sender.stop();
    this.listeners.clear();
  }

  // ---- connection -------------------------------------------------------------------

  connectionChanged(connection: ConnectionState): void {
    this.set({ connection });
    if (connection.status !== 'connected') {
      this.typingTracker.clearAll();
      // The list comes over REST, so a socket that cannot connect does not keep it from showing.
      if (!this.state.conversationsLoaded) void this.start();
    }
  }

  /**
   * Loads the conversation list over REST, without waiting for the socket; each connect
   * reloads it anyway. Tried again on the socket's next state change until it succeeds.
   */
  start(): Promise<void> {
    if (this.state.conversationsLoaded) return Promise.resolve();
    this.initialLoad ??= this.loadConversations()
      .catch(() => undefined)
      .finally(() => {
        this.initialLoad = null;
      });
    return this.initialLoad;
  }

  retryConnection(): void {
    this.deps.link.retryNow();
  }

  /** The socket is in its rooms: reload what may have changed, then catch every history up. */
  async connected(): Promise<void> {
    this.outbox.resendAll();
    await this.loadConversations();
    await Promise.all(
      Object.keys(this.state.timelines).map(async (id) => {
        await this.catchUpConversation(id);
        await this.refreshNewestPage(id);
      }),
    );
  }

  /** Edits and deletions made while disconnected: the newest page brings their current versions. */
  private async refreshNewestPage(conversationId: string): Promise<void> {
    const page = await this.deps.api.olderMessages(conversationId, null, PAGE_SIZE);
    const timeline = this.state.timelines[conversationId];
    if (timeline) this.setTimeline(conversationId, mergeMessages(timeline, page.items));
  }

  async loadConversations(): Promise<void> {
    const generation = (this.listLoadsStarted += 1);
    const knownBefore = new Set(Object.keys(this.state.conversations));
    const loaded: Conversation[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < MAX_CONVERSATION_PAGES; page += 1) {
      const result: Page<Conversation> = await this.deps.api.listConversations(cursor, 50);
      loaded.push(...result.items);
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    if (generation < this.listLoadApplied) return;
    this.listLoadApplied = generation;
    const conversations: Record<string, Conversation> = {};
    let timelines = this.state.timelines;
    if (cursor) {
      // Not every page was loaded: keep the older conversations this session already knows.
      for (const [id, held] of Object.entries(this.state.conversations)) conversations[id] = held;
    } else {
      // The whole list: what it lacks, the user has left or been removed from, unless it
      // arrived (was created, say) while the list was on its way.
      for (const [id, held] of Object.entries(this.state.conversations))
        if (!knownBefore.has(id)) conversations[id] = held;
      timelines = Object.fromEntries(
        Object.entries(timelines).filter(([id]) => !knownBefore.has(id) || loaded.some((c) => c.id === id)),
      );
    }
    for (const conversation of loaded) conversations[conversation.id] = conversation;
    this.set({
      conversations,
      timelines,
      conversationsLoaded: true,
      conversationsCursor: cursor,
      presence: this.presenceFrom(loaded, true),
    });
    for (const conversation of loaded)
      this.readMarker(conversation.id).known(myLastReadSeq(conversation, this.state.me.id));
  }

  /** The next page of older conversations, for a list longer than the first pages. */
  async loadMoreConversations(): Promise<void> {
    const cursor = this.state.conversationsCursor;
    if (!cursor) return;
    const page = await this.deps.api.listConversations(cursor, 50);
    const conversations = { ...this.state.conversations };
    for (const conversation of page.items) conversations[conversation.id] ??= conversation;
    this.set({ conversations, conversationsCursor: page.nextCursor, presence: this.presenceFrom(page.items, false) });
  }

  private presenceFrom(conversations: readonly Conversation[], overwrite: boolean): Record<string, PresenceInfo> {
    const presence = { ...this.state.presence };
    for (const conversation of conversations) {
      for (const participant of conversation.participants) {
        if (overwrite || !presence[participant.id]) {
          presence[participant.id] = { status: participant.presence, lastSeenAt: participant.lastSeenAt };
        }
      }
    }
    return presence;
  }

  // ---- histories --------------------------------------------------------------------

  /** Loads the newest page when the conversation is first opened. */
  async openConversation(conversationId: string): Promise<void> {
    if (this.state.timelines[conversationId]) return;
    if (!this.state.conversations[conversationId]) await this.fetchConversation(conversationId);
    await this.loadOlder(conversationId);
  }

  async loadOlder(conversationId: string): Promise<void> {
    const timeline = this.state.timelines[conversationId] ?? emptyTimeline;
    if (this.state.loadingOlder[conversationId] || !timeline.hasMoreBefore) return;
    this.set({ loadingOlder: { ...this.state.loadingOlder, [conversationId]: true } });
    try {
      const before = timeline.messages[0]?.seq ?? null;
      const page = await this.deps.api.olderMessages(conversationId, before, PAGE_SIZE);
      const current = this.state.timelines[conversationId] ?? emptyTimeline;
      this.setTimeline(conversationId, prependPage(current, page.items, page.hasMore));
    } finally {
      this.set({ loadingOlder: { ...this.state.loadingOlder, [conversationId]: false } });
    }
    // Live messages that arrived while the first page was on its way were not held.
    const loaded = this.state.timelines[conversationId];
    const known = this.state.conversations[conversationId]?.lastSeq ?? 0;
    if (loaded && known > loaded.syncedSeq) await this.catchUpConversation(conversationId);
  }

  /** Fetches everything after the last seq held, once at a time per conversation. */
  catchUpConversation(conversationId: string): Promise<void> {
    const running = this.catchingUp.get(conversationId);
    if (running) return running.then(() => this.catchUpConversation(conversationId));
    const task = this.runCatchUp(conversationId).finally(() => this.catchingUp.delete(conversationId));
    this.catchingUp.set(conversationId, task);
    return task;
  }

  private async runCatchUp(conversationId: string): Promise<void> {
    const timeline = this.state.timelines[conversationId];
    if (!timeline) return;
    const sync: SyncFn = async (id, afterSeq, limit) => {
      const ack = await this.deps.link.request<MessagePage>('sync', { conversationId: id, afterSeq, limit });
      if (!ack.ok) throw new Error(ack.error.message || ack.error.code);
      return ack.data;
    };
    const result = await catchUp(sync, conversationId, timeline.syncedSeq);
    if (result.kind === 'tooFarBehind') {
      // Too much was missed to page through: start again from the newest page.
      const { [conversationId]: _dropped, ...rest } = this.state.timelines;
      this.set({ timelines: rest });
      await this.loadOlder(conversationId);
      return;
    }
    for (const message of result.messages) this.receiveMessage(message);
  }

  // ---- sending, editing, deleting ---------------------------------------------------

  send(conversationId: string, content: string): void {
    this.typingSender(conversationId).stop();
    this.outbox.enqueue({ clientId: newClientId(), conversationId, content });
  }

  retry(clientId: string): void {
    this.outbox.retry(clientId);
  }

  discard(clientId: string): void {
    this.outbox.discard(clientId);
  }

  async edit(message: Message, content: string): Promise<void> {
    const edited = await this.deps.api.editMessage(message.id, content);
    this.editedMessage(edited);
  }

  async remove(message: Message): Promise<void> {
    await this.deps.api.deleteMessage(message.id);
  }

  private syncOutbox(): void {
    const outbox: Record<string, OutboxItem[]> = {};
    const items = this.outbox.all();
    this.deps.outboxStore?.save(items);
    for (const item of items) (outbox[item.conversationId] ??= []).push(item);
    for (const items of Object.values(outbox)) items.sort((a, b) => a.createdAt - b.createdAt);
    this.set({ outbox });
  }

  // ---- typing and reading -----------------------------------------------------------

  typed(conversationId: string): void {
    this.typingSender(conversationId).input();
  }

  stoppedTyping(conversationId: string): void {
    this.typingSenders.get(conversationId)?.stop();
  }

  private typingSender(conversationId: string): TypingSender {
    let sender = this.typingSenders.get(conversationId);
    if (!sender) {
      sender = new TypingSender(this.deps.clock, (isTyping) => {
        if (this.deps.link.connected)
          this.deps.link.request('typing', { conversationId, isTyping }).catch(() => undefined);
      });
      this.typingSenders.set(conversationId, sender);
    }
    return sender;
  }

  private syncTyping(): void {
    const typing: Record<string, string[]> = {};
    for (const conversationId of Object.keys(this.state.conversations)) {
      const typists = this.typingTracker.typists(conversationId);
      if (typists.length > 0) typing[conversationId] = typists;
    }
    this.set({ typing });
  }

  /** The newest seq visible on screen in a focused, visible window. */
  seen(conversationId: string, seq: number): void {
    this.readMarker(conversationId).seen(seq);
  }

  private readMarker(conversationId: string): ReadMarker {
    let marker = this.readMarkers.get(conversationId);
    if (!marker) {
      marker = new ReadMarker(async (seq) => {
        const ack = await this.deps.link.request<{ lastReadSeq: number }>('markRead', { conversationId, seq });
        if (!ack.ok) throw new Error(ack.error.code);
        this.readReceipt({
          conversationId,
          userId: this.state.me.id,
          seq: ack.data.lastReadSeq,
          readAt: new Date(this.deps.clock.now()).toISOString(),
        });
      });
      this.readMarkers.set(conversationId, marker);
    }
    return marker;
  }

  heartbeat(status: 'online' | 'away'): void {
    if (this.deps.link.connected) this.deps.link.request('heartbeat', { status }).catch(() => undefined);
  }

  // ---- conversations ------------------------------------------------------------------

  async startDirect(otherId: string): Promise<Conversation> {
    const conversation = await this.deps.api.createDirect(otherId);
    this.adoptConversation(conversation);
    return conversation;
  }

  async createGroup(name: string, participantIds: string[]): Promise<Conversation> {
    const conversation = await this.deps.api.createGroup(name, participantIds);
    this.adoptConversation(conversation);
    return conversation;
  }

  async renameGroup(conversationId: string, name: string): Promise<void> {
    this.conversationUpdated(await this.deps.api.renameGroup(conversationId, name));
  }

  async addPeople(conversationId: string, userIds: string[]): Promise<void> {
    this.conversationUpdated(await this.deps.api.addParticipants(conversationId, userIds));
  }

  async removePerson(conversationId: string, userId: string): Promise<void> {
    await this.deps.api.removeParticipant(conversationId, userId);
    if (userId === this.state.me.id) this.forgetConversation(conversationId);
    else await this.fetchConversation(conversationId);
  }

  searchUsers(query: string): Promise<{ items: PublicUser[] }> {
    return this.deps.api.searchUsers(query, 20);
  }

  private adoptConversation(conversation: Conversation): void {
    this.setConversation({ ...this.state.conversations[conversation.id], ...conversation });
    this.set({ presence: this.presenceFrom([conversation], false) });
  }

  private forgetConversation(conversationId: string): void {
    const { [conversationId]: _conversation, ...conversations } = this.state.conversations;
    const { [conversationId]: _timeline, ...timelines } = this.state.timelines;
    this.set({ conversations, timelines });
  }

  private fetchConversation(conversationId: string): Promise<void> {
    const running = this.fetchingConversation.get(conversationId);
    if (running) return running;
    const task = this.deps.api
      .getConversation(conversationId)
      .then(
        (conversation) => {
          this.adoptConversation(conversation);
          this.readMarker(conversation.id).known(myLastReadSeq(conversation, this.state.me.id));
        },
        (error: { code?: string }) => {
          if (error.code === 'not_found') this.forgetConversation(conversationId);
        },
      )
      .finally(() => this.fetchingConversation.delete(conversationId));
    this.fetchingConversation.set(conversationId, task);
    return task;
  }

  // ---- server events ------------------------------------------------------------------

  /** A message from the server: live, an ack, or a catch-up page. */
  receiveMessage = (message: Message): void => {
    this.outbox.confirm(message);
    this.typingTracker.clear(message.conversationId, message.senderId);

    const timeline = this.state.timelines[message.conversationId];
    if (timeline) {
      const hole = gapBefore(timeline, message.seq);
      this.setTimeline(message.conversationId, mergeMessages(timeline, [message]));
      if (hole !== null) void this.catchUpConversation(message.conversationId).catch(() => undefined);
    }

    const conversation = this.state.conversations[message.conversationId];
    if (!conversation) {
      void this.fetchConversation(message.conversationId);
      return;
    }
    const next = applyNewMessage(conversation, message, this.state.me.id);
    if (next !== conversation) this.setConversation(next);
  };

  editedMessage = (message: Message): void => {
    const timeline = this.state.timelines[message.conversationId];
    if (timeline) this.setTimeline(message.conversationId, mergeMessages(timeline, [message]));
    const conversation = this.state.conversations[message.conversationId];
    if (conversation) this.setConversation(applyEditedMessage(conversation, message));
  };

  deletedMessage = (deleted: MessageDeleted): void => {
    const timeline = this.state.timelines[deleted.conversationId];
    const held = timeline ? findBySeq(timeline, deleted.seq) : undefined;
    if (timeline) this.setTimeline(deleted.conversationId, applyDeletion(timeline, deleted));
    const conversation = this.state.conversations[deleted.conversationId];
    if (!conversation) return;
    const next = applyDeletedMessage(conversation, deleted, held, this.state.me.id);
    if (next) this.setConversation(next);
    else void this.fetchConversation(deleted.conversationId);
  };

  userTyping = (typing: UserTyping): void => {
    if (typing.userId === this.state.me.id) return;
    this.typingTracker.apply(typing);
  };

  readReceipt = (receipt: ReadReceipt): void => {
    const conversation = this.state.conversations[receipt.conversationId];
    if (!conversation) return;
    if (receipt.userId === this.state.me.id) this.readMarker(receipt.conversationId).known(receipt.seq);
    const held = this.state.timelines[receipt.conversationId]?.messages ?? [];
    const next = applyReadReceipt(conversation, receipt, this.state.me.id, held);
    if (next) this.setConversation(next);
    else void this.fetchConversation(receipt.conversationId);
  };

  presenceChanged = (presence: PresenceEvent): void => {
    this.set({
      presence: {
        ...this.state.presence,
        [presence.userId]: { status: presence.status, lastSeenAt: presence.lastSeenAt },
      },
    });
  };

  conversationUpdated = (update: Omit<Conversation, 'unreadCount'>): void => {
    const me = this.state.me.id;
    const listsEveryone = update.participants.length >= update.participantCount;
    const included = update.participants.some((p: Participant) => p.id === me);
    if (listsEveryone && !included) {
      this.forgetConversation(update.id);
      return;
    }
    if (!included) {
      void this.fetchConversation(update.id);
      return;
    }
    const held = this.state.conversations[update.id];
    // An update carries no unread count; a conversation new to this client starts with none.
    this.adoptConversation({
      ...update,
      unreadCount: held?.unreadCount ?? 0,
      lastMessage: update.lastMessage ?? held?.lastMessage ?? null,
    });
  };
}
