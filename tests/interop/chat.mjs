// Interop check: the official JavaScript Socket.IO client against a running Parley server.
//
//   node tests/interop/chat.mjs http://127.0.0.1:8000
//
// Registers two users over REST, opens a direct conversation between them, connects both
// to `/chat` with the client's default transports (HTTP long-polling, then the upgrade to
// WebSocket), and exchanges one message each way: the sender's acknowledgement and both
// sides' `newMessage` events are checked against docs/api.md. Also checks that a bad or
// missing token is refused with `connect_error` and `err.data.code === "unauthorized"`.
//
// Prints one JSON line to stdout and exits 0 on success; prints the reason to stderr and
// exits 1 on any failure, and after 20 s in any case.

import { randomUUID } from "node:crypto";
import { io } from "socket.io-client";

const OVERALL_TIMEOUT_MS = 20_000;
const STEP_TIMEOUT_MS = 5_000;
const PASSWORD = "correct horse battery";
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const started = Date.now();
const sockets = [];

function fail(reason) {
  process.stderr.write(`chat.mjs: FAILED: ${reason}\n`);
  for (const socket of sockets) socket.disconnect();
  process.exit(1);
}

function check(condition, message, ...actual) {
  if (!condition) {
    const shown = actual.length ? `\n  got: ${JSON.stringify(actual[0]) ?? "undefined"}` : "";
    throw new Error(`${message}${shown}`);
  }
}

/** Resolves with `promise`, or rejects after `ms` with a message naming `what`. */
function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- REST

async function api(baseUrl, method, path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(baseUrl + path, {
      method,
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    });
  } catch (err) {
    throw new Error(`${method} ${path}: ${err.message} (${err.cause?.message ?? "no cause"})`);
  }
  const text = await response.text();
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path}: ${response.status}, body is not JSON: ${text.slice(0, 500)}`);
  }
  return { status: response.status, data };
}

async function register(baseUrl, prefix) {
  const username = `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const { status, data } = await api(baseUrl, "POST", "/api/auth/register", {
    username,
    email: `${username}@example.com`,
    password: PASSWORD,
  });
  check(status === 201, `register ${username}: expected 201, got ${status}`, data);
  check(typeof data.accessToken === "string" && data.accessToken, "register: no accessToken", data);
  check(data.user?.username === username, "register: user.username differs", data);
  check(typeof data.user.id === "string", "register: user.id is not a string", data);
  return { id: data.user.id, username, token: data.accessToken };
}

async function createDirect(baseUrl, owner, other) {
  const { status, data } = await api(
    baseUrl,
    "POST",
    "/api/conversations",
    { type: "direct", participantIds: [other.id] },
    owner.token,
  );
  check(status === 201, `create direct conversation: expected 201, got ${status}`, data);
  check(data.type === "direct", "conversation.type is not direct", data);
  const ids = (data.participants ?? []).map((p) => p.id).sort();
  check(
    JSON.stringify(ids) === JSON.stringify([owner.id, other.id].sort()),
    "conversation.participants are not the two users",
    data.participants,
  );
  return data;
}

// ---------------------------------------------------------------- Socket.IO

/** A `/chat` socket that records every event it receives, so none can be missed. */
function openChat(baseUrl, auth) {
  // forceNew: each user gets a connection of their own, as in two browsers.
  const socket = io(`${baseUrl}/chat`, {
    auth,
    forceNew: true,
    reconnection: false,
    timeout: STEP_TIMEOUT_MS,
  });
  sockets.push(socket);
  const events = [];
  const waiters = new Set();
  socket.onAny((name, payload) => {
    events.push({ name, payload });
    for (const wake of waiters) wake();
  });
  /** The first `name` event whose payload satisfies `predicate`, waiting for it if needed. */
  function waitFor(name, predicate, what) {
    const found = () => events.find((e) => e.name === name && predicate(e.payload));
    let wake;
    const arrived = new Promise((resolve) => {
      wake = () => {
        const event = found();
        if (event) resolve(event.payload);
      };
      waiters.add(wake);
      wake();
    });
    return within(STEP_TIMEOUT_MS, what, arrived).finally(() => waiters.delete(wake));
  }
  return { socket, events, waitFor };
}

/** Resolves once connected, rejects with the `connect_error` otherwise. */
function connected(socket) {
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
}

/** Resolves with the transport name once the engine runs over WebSocket. */
function upgraded(socket) {
  const engine = socket.io.engine;
  if (engine.transport.name === "websocket") return Promise.resolve("websocket");
  return new Promise((resolve, reject) => {
    engine.once("upgrade", (transport) => resolve(transport.name));
    engine.once("upgradeError", (err) => reject(new Error(`upgrade to websocket failed: ${err}`)));
  });
}

async function connectUser(baseUrl, user) {
  const chat = openChat(baseUrl, { token: user.token });
  try {
    await within(STEP_TIMEOUT_MS, `${user.username} connecting to /chat`, connected(chat.socket));
  } catch (err) {
    throw new Error(`${user.username} could not connect: ${err.message} ${JSON.stringify(err.data)}`);
  }
  const transport = await within(
    STEP_TIMEOUT_MS,
    `${user.username}: upgrade from polling to websocket`,
    upgraded(chat.socket),
  );
  return { ...chat, transport };
}

async function expectRefused(baseUrl, auth, label) {
  const { socket } = openChat(baseUrl, auth);
  let error;
  try {
    await within(STEP_TIMEOUT_MS, `connect_error for ${label}`, connected(socket));
  } catch (err) {
    error = err;
  } finally {
    socket.disconnect();
  }
  check(error !== undefined, `${label}: the server accepted the connection`);
  check(
    error.data?.code === "unauthorized",
    `${label}: expected connect_error with data.code "unauthorized", got message ${JSON.stringify(error.message)}`,
    error.data,
  );
}

function checkMessage(message, expected, label) {
  check(message && typeof message === "object", `${label}: not an object`, message);
  for (const [key, value] of Object.entries(expected)) {
    check(message[key] === value, `${label}: ${key} should be ${JSON.stringify(value)}`, message);
  }
  check(typeof message.id === "string", `${label}: id is not a string`, message);
  check(message.type === "text", `${label}: type should be "text"`, message);
  check(ISO_TIME.test(message.createdAt), `${label}: createdAt is not ISO 8601 ms Z`, message);
  check(message.editedAt === null && message.deletedAt === null, `${label}: edited/deleted`, message);
}

/** `from` sends one message; its ack and both sides' `newMessage` must carry it. */
async function exchange(conversation, from, to, seq, content) {
  const clientId = randomUUID();
  const ack = await from.chat.socket
    .timeout(STEP_TIMEOUT_MS)
    .emitWithAck("sendMessage", { conversationId: conversation.id, clientId, content });
  check(ack?.ok === true, `${from.user.username}: sendMessage ack is not ok`, ack);
  const expected = {
    conversationId: conversation.id,
    senderId: from.user.id,
    clientId,
    content,
    seq,
  };
  checkMessage(ack.data, expected, "sendMessage ack data");

  const byClientId = (m) => m?.clientId === clientId;
  const received = await to.chat.waitFor("newMessage", byClientId, `${to.user.username}: newMessage`);
  checkMessage(received, { ...expected, id: ack.data.id }, `${to.user.username}'s newMessage`);
  // The sender's own sockets get it too: that is how clients match optimistic copies.
  const echoed = await from.chat.waitFor("newMessage", byClientId, `${from.user.username}: echo`);
  checkMessage(echoed, { ...expected, id: ack.data.id }, `${from.user.username}'s own newMessage`);
  return ack.data;
}

// ---------------------------------------------------------------- main

async function main(baseUrl) {
  const userA = await register(baseUrl, "js_a");
  const userB = await register(baseUrl, "js_b");
  const conversation = await createDirect(baseUrl, userA, userB);

  const a = { user: userA, chat: await connectUser(baseUrl, userA) };
  const b = { user: userB, chat: await connectUser(baseUrl, userB) };

  const first = await exchange(conversation, a, b, 1, "Hello from JavaScript, B! é ✓ 👋");
  const reply = await exchange(conversation, b, a, 2, "Hi A,\nright back at you.");

  await expectRefused(baseUrl, { token: "not-a-real-token" }, "a forged token");
  await expectRefused(baseUrl, {}, "no token");

  for (const socket of sockets) socket.disconnect();
  return {
    ok: true,
    conversationId: conversation.id,
    messages: [first.seq, reply.seq],
    transports: [a.chat.transport, b.chat.transport],
    refused: ["forged token", "no token"],
    elapsedMs: Date.now() - started,
  };
}

const baseUrl = process.argv[2]?.replace(/\/+$/, "");
if (!baseUrl || !/^https?:\/\//.test(baseUrl)) {
  process.stderr.write("usage: node chat.mjs <server base URL, e.g. http://127.0.0.1:8000>\n");
  process.exit(1);
}
setTimeout(() => fail(`overall timeout of ${OVERALL_TIMEOUT_MS / 1000} s`), OVERALL_TIMEOUT_MS);
process.on("unhandledRejection", (err) => fail(err?.stack ?? String(err)));

main(baseUrl).then(
  (summary) => {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    process.exit(0);
  },
  (err) => fail(err?.message ?? String(err)),
);
