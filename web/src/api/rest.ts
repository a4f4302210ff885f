/**
 * Every REST call of the client. Authenticated calls carry the session's access token;
 * a 401 refreshes the session once and tries again.
 */
import { RefreshRefused, type Session } from '../core/session';
import type {
  AuthResult,
  Conversation,
  Message,
  MessagePage,
  OwnUser,
  Page,
  Participant,
  PublicUser,
} from '../core/types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

async function send(method: Method, path: string, body: unknown, token: string | null): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function parse<T>(response: Response): Promise<T> {
  if (response.ok) return (response.status === 204 ? undefined : await response.json()) as T;
  let code = 'internal';
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const problem = (await response.json()) as { code?: string; detail?: string; title?: string };
    code = problem.code ?? code;
    message = problem.detail ?? problem.title ?? message;
  } catch {
    // Not problem+json (a proxy's page, say): keep the status line.
  }
  throw new ApiError(response.status, code, message);
}

/** Calls that need no session. */
export const publicApi = {
  register: (body: { username: string; email: string; password: string; displayName?: string }) =>
    send('POST', '/api/auth/register', body, null).then((r) => parse<AuthResult>(r)),
  login: (body: { username: string; password: string }) =>
    send('POST', '/api/auth/login', body, null).then((r) => parse<AuthResult>(r)),
  async refresh(refreshToken: string): Promise<AuthResult> {
    const response = await send('POST', '/api/auth/refresh', { refreshToken }, null);
    if (response.status === 401) throw new RefreshRefused();
    return parse<AuthResult>(response);
  },
  logout: (refreshToken: string) =>
    send('POST', '/api/auth/logout', { refreshToken }, null).then((r) => parse<void>(r)),
};

export type Api = ReturnType<typeof createApi>;

export function createApi(session: Session) {
  async function call<T>(method: Method, path: string, body?: unknown): Promise<T> {
    let response = await send(method, path, body, await session.accessToken());
    if (response.status === 401 && session.value) {
      const refreshed = await session.refresh();
      if (!refreshed) throw new ApiError(401, 'unauthorized', 'Your session has ended.');
      response = await send(method, path, body, refreshed.accessToken);
    }
    return parse<T>(response);
  }

  const q = encodeURIComponent;
  return {
    me: () => call<OwnUser>('GET', '/api/users/me'),
    updateMe: (body: { displayName?: string; avatarUrl?: string }) => call<OwnUser>('PATCH', '/api/users/me', body),
    searchUsers: (query: string, limit = 20) =>
      call<{ items: PublicUser[] }>('GET', `/api/users?query=${q(query)}&limit=${limit}`),
    getUser: (id: string) => call<PublicUser>('GET', `/api/users/${q(id)}`),

    listConversations: (before: string | null, limit = 50) =>
      call<Page<Conversation>>('GET', `/api/conversations?limit=${limit}${before ? `&before=${q(before)}` : ''}`),
    getConversation: (id: string) => call<Conversation>('GET', `/api/conversations/${q(id)}`),
    createDirect: (otherId: string) =>
      call<Conversation>('POST', '/api/conversations', { type: 'direct', participantIds: [otherId] }),
    createGroup: (name: string, participantIds: string[]) =>
      call<Conversation>('POST', '/api/conversations', { type: 'group', name, participantIds }),
    renameGroup: (id: string, name: string) => call<Conversation>('PATCH', `/api/conversations/${q(id)}`, { name }),
    listParticipants: (id: string, after: string | null, limit = 100) =>
      call<Page<Participant>>(
        'GET',
        `/api/conversations/${q(id)}/participants?limit=${limit}${after ? `&after=${q(after)}` : ''}`,
      ),
    addParticipants: (id: string, userIds: string[]) =>
      call<Conversation>('POST', `/api/conversations/${q(id)}/participants`, { userIds }),
    removeParticipant: (id: string, userId: string) =>
      call<void>('DELETE', `/api/conversations/${q(id)}/participants/${q(userId)}`),

    olderMessages: (id: string, beforeSeq: number | null, limit = 100) =>
      call<MessagePage>(
        'GET',
        `/api/conversations/${q(id)}/messages?limit=${limit}${beforeSeq !== null ? `&before=${beforeSeq}` : ''}`,
      ),
    newerMessages: (id: string, afterSeq: number, limit = 100) =>
      call<MessagePage>('GET', `/api/conversations/${q(id)}/messages?after=${afterSeq}&limit=${limit}`),
    postMessage: (id: string, clientId: string, content: string) =>
      call<Message>('POST', `/api/conversations/${q(id)}/messages`, { clientId, content }),
    editMessage: (id: string, content: string) => call<Message>('PATCH', `/api/messages/${q(id)}`, { content }),
    deleteMessage: (id: string) => call<void>('DELETE', `/api/messages/${q(id)}`),
    markRead: (id: string, seq: number) => call<void>('POST', `/api/conversations/${q(id)}/read`, { seq }),
  };
}
