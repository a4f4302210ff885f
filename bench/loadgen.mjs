// Parley's load generator: the official socket.io-client, one Engine.IO connection per
// simulated user over WebSocket, driving Parley's real contract (or a baseline's slice of
// it) and timing every delivery from send to receipt.
//
//   node bench/loadgen.mjs populate SPEC.json   # register users, open conversations
//   node bench/loadgen.mjs run SPEC.json        # one scenario; prints its result as JSON
//
// bench/run.py writes the specs, starts the servers and reads the results; the fields of a
// spec are described at `populate` and `run` below. Progress goes to stderr, the result
// (one JSON document) to stdout.

import { readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { io } from "socket.io-client";

const PASSWORD = "bench-password";
const REST_CONCURRENCY = 16;
const CONNECT_CONCURRENCY = 100; // S3 connects in waves; S4 connects everyone at once
const CONNECT_TIMEOUT_MS = 60_000;
const SETTLE_MS = 2_000; // S3: after the last connect, for the server to settle
const QUIET_MS = 200; // after the last send: no delivery for this long means all arrived
const QUIET_MAX_MS = 10_000;
const CLOCK_TICKS_PER_SECOND = 100; // Linux's USER_HZ, the unit of /proc/PID/stat times
const PAGE_SIZE = 50;
const ACK_TIMEOUT_MS = 30_000; // a send unanswered this long counts as an error, "no_ack"
const SATURATED_PERCENT = 85; // a load generator this busy limits what it measures

const log = (...parts) => process.stderr.write(`loadgen: ${parts.join(" ")}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- figures

function percentile(sorted, fraction) {
  if (sorted.length === 0) return null;
  const index = Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1);
  return sorted[Math.max(0, index)];
}

/** p50, p99 and max of a list of milliseconds, rounded to microseconds. */
function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  const round = (value) => (value === null ? null : Math.round(value * 1000) / 1000);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 0.5)),
    p99: round(percentile(sorted, 0.99)),
    max: round(sorted.length ? sorted[sorted.length - 1] : null),
  };
}

function procStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** CPU seconds (user + system, all threads) and resident memory of the server processes. */
function serverUsage(pids) {
  let ticks = 0;
  let rssBytes = 0;
  for (const pid of pids) {
    const fields = procStat(pid);
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    rssBytes += Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
  }
  return { cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND, rssBytes };
}

/**
 * CPU seconds of the services behind a server (PostgreSQL, Redis): each process, its
 * children alive now (PostgreSQL's backends) and those it has reaped (cutime, cstime).
 */
function servicesCpuSeconds(pids) {
  let ticks = 0;
  const seen = new Set();
  const add = (pid, withReaped) => {
    if (seen.has(pid)) return;
    seen.add(pid);
    try {
      const fields = procStat(pid);
      ticks += Number(fields[11]) + Number(fields[12]);
      if (withReaped) ticks += Number(fields[13]) + Number(fields[14]);
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
      for (const child of children ? children.split(" ") : []) add(Number(child), false);
    } catch {
      // a backend that exited meanwhile is counted in its parent's reaped time
    }
  };
  for (const pid of pids) add(pid, true);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/**
 * Measures the CPU of the server, of the services behind it and of this process over a
 * stretch of the run; `stop(end)` closes the stretch at `end` (performance.now()).
 */
function cpuMeter(pids, servicePids = []) {
  const server = serverUsage(pids).cpuSeconds;
  const services = servicesCpuSeconds(servicePids);
  const own = process.cpuUsage();
  const started = performance.now();
  return (end = performance.now()) => {
    const seconds = (end - started) / 1000;
    const serverCpu = serverUsage(pids).cpuSeconds - server;
    // null without services (the baselines, Parley embedded): nothing to report
    const servicesCpu = servicePids.length ? servicesCpuSeconds(servicePids) - services : null;
    const ownUsage = process.cpuUsage(own);
    const loadgenCpuPercent = (100 * (ownUsage.user + ownUsage.system)) / 1e6 / seconds;
    return {
      seconds,
      serverCpuSeconds: serverCpu,
      serverCpuPercent: (100 * serverCpu) / seconds,
      servicesCpuSeconds: servicesCpu,
      servicesCpuPercent: servicesCpu === null ? null : (100 * servicesCpu) / seconds,
      loadgenCpuPercent,
      loadgenSaturated: loadgenCpuPercent >= SATURATED_PERCENT,
    };
  };
}

// ---------------------------------------------------------------- REST

async function api(baseUrl, method, path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(baseUrl + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Runs `work(item, index)` over `items`, at most `limit` at a time, in order of index. */
async function pool(items, limit, work) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index], index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// ---------------------------------------------------------------- populate

/**
 * Registers `users` users and opens `directs` direct conversations (user 2i with user
 * 2i+1) and `groups` groups of `groupSize` (group g holds users g*groupSize onward, made by
 * the first of them), plus `extraUsers` named users for H1 and L1. Writes the population
 * to `output`: users with their ids and access tokens, conversations with their members'
 * indexes.
 *
 * Spec: {url, prefix, users, directs, groups, groupSize, extraUsers: [name...], output}
 */
async function populate(spec) {
  const url = spec.url;
  const names = Array.from({ length: spec.users }, (_, i) => `${spec.prefix}${i}`);
  const started = performance.now();
  const register = async (username) => {
    const body = { username, email: `${username}@bench.parley.chat`, password: PASSWORD };
    const session = await api(url, "POST", "/api/auth/register", body);
    return { id: session.user.id, username, token: session.accessToken };
  };
  const users = await pool(names, REST_CONCURRENCY, register);
  const extra = Object.fromEntries(
    await pool(spec.extraUsers ?? [], REST_CONCURRENCY, async (name) => [
      name,
      await register(`${spec.prefix}${name}`),
    ]),
  );
  log(`registered ${users.length} users in ${Math.round(performance.now() - started)} ms`);

  const directs = await pool(
    Array.from({ length: spec.directs }, (_, i) => [2 * i, 2 * i + 1]),
    REST_CONCURRENCY,
    async ([a, b]) => {
      const body = { type: "direct", participantIds: [users[b].id] };
      const conversation = await api(url, "POST", "/api/conversations", body, users[a].token);
      return { id: conversation.id, members: [a, b] };
    },
  );
  const groups = await pool(
    Array.from({ length: spec.groups }, (_, g) => g),
    REST_CONCURRENCY,
    async (g) => {
      const members = Array.from({ length: spec.groupSize }, (_, k) => g * spec.groupSize + k);
      const body = {
        type: "group",
        name: `Bench group ${g}`,
        participantIds: members.slice(1).map((m) => users[m].id),
      };
      const conversation = await api(url, "POST", "/api/conversations", body, users[members[0]].token);
      return { id: conversation.id, members };
    },
  );
  log(`opened ${directs.length} direct conversations and ${groups.length} groups`);
  writeFileSync(spec.output, JSON.stringify({ users, extra, directs, groups }));
}

// ---------------------------------------------------------------- sockets

/**
 * The sockets of a run. For Parley a user's rooms come from its database; a baseline has
 * none, so each socket names its rooms in `auth.rooms`, as Parley would have joined them.
 */
class Crowd {
  constructor(spec, population) {
    this.spec = spec;
    this.population = population;
    this.rooms = new Map(); // user index -> conversation ids, for the baselines
    for (const conversation of [...population.directs, ...population.groups]) {
      for (const member of conversation.members) {
        if (!this.rooms.has(member)) this.rooms.set(member, []);
        this.rooms.get(member).push(conversation.id);
      }
    }
    this.sockets = new Map(); // user index -> socket
    this.senders = null; // S2x: the user indexes that connect to the first process
    this.onMessage = () => {};
  }

  url(userIndex) {
    const urls = this.spec.urls;
    // S2x: senders on the first process, everyone else on the second.
    if (this.senders) return urls[this.senders.has(userIndex) ? 0 : 1];
    return urls[userIndex % urls.length];
  }

  /** Connects user `index`; resolves with the milliseconds the connect took. */
  connect(index) {
    const user = this.population.users[index];
    const auth = { token: user.token, rooms: this.rooms.get(index) ?? [] };
    const socket = io(`${this.url(index)}/chat`, {
      transports: ["websocket"],
      auth,
      forceNew: true,
      reconnection: false,
      timeout: CONNECT_TIMEOUT_MS,
    });
    this.sockets.set(index, socket);
    socket.on("newMessage", (message) => this.onMessage(index, message));
    const started = performance.now();
    return new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(performance.now() - started));
      socket.once("connect_error", (err) =>
        reject(new Error(`user ${index} could not connect: ${err.message} ${JSON.stringify(err.data)}`)),
      );
    });
  }

  async connectAll(indexes, concurrency) {
    return pool(indexes, concurrency, (index) => this.connect(index));
  }

  close() {
    for (const socket of this.sockets.values()) socket.disconnect();
    this.sockets.clear();
  }
}

/**
 * Sends and times messages: each send is remembered by clientId, each `newMessage` to a
 * socket other than its sender's is a delivery timed from the send.
 */
class Traffic {
  constructor(crowd, runId) {
    this.crowd = crowd;
    this.runId = runId;
    this.counter = 0;
    this.sentAt = new Map(); // clientId -> [time, sender index, measured]
    this.lastDeliveryAt = 0;
    this.latencies = [];
    this.ackLatencies = [];
    this.deliveries = 0; // every newMessage received, the sender's own included
    this.acked = 0;
    this.errors = new Map(); // error code -> count
    this.measuring = false;
    crowd.onMessage = (index, message) => this.received(index, message);
  }

  received(index, message) {
    const sent = this.sentAt.get(message.clientId);
    if (sent === undefined || !sent[2]) return; // a warm-up message
    this.deliveries += 1;
    this.lastDeliveryAt = performance.now();
    if (sent[1] !== index) this.latencies.push(this.lastDeliveryAt - sent[0]);
  }

  /** Sends one message from user `sender` to `conversationId`; resolves on its ack. */
  send(sender, conversationId) {
    const clientId = `${this.runId}-${sender}-${this.counter++}`;
    const started = performance.now();
    const measured = this.measuring;
    this.sentAt.set(clientId, [started, sender, measured]);
    const payload = { conversationId, clientId, content: `bench message ${clientId}` };
    const socket = this.crowd.sockets.get(sender).timeout(ACK_TIMEOUT_MS);
    return new Promise((resolve) => {
      socket.emit("sendMessage", payload, (err, answer) => {
        const ack = err ? null : answer;
        if (measured) {
          if (ack?.ok) {
            this.acked += 1;
            this.ackLatencies.push(performance.now() - started);
          } else {
            const code = ack?.error?.code ?? "no_ack";
            this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
          }
        }
        resolve(ack);
      });
    });
  }

  figures() {
    return {
      acked: this.acked,
      deliveries: this.deliveries,
      errors: Object.fromEntries(this.errors),
      latencyMs: summarize(this.latencies),
      ackLatencyMs: summarize(this.ackLatencies),
    };
  }
}

/** Waits until the last deliveries have arrived: none for QUIET_MS. */
async function quiet(traffic) {
  const until = performance.now() + QUIET_MAX_MS;
  let seen = -1;
  while (seen !== traffic.deliveries && performance.now() < until) {
    seen = traffic.deliveries;
    await sleep(QUIET_MS);
  }
}

/** Warms the path once (first-use costs are not what is measured), then measures. */
async function measured(traffic, pids, servicePids, durationMs, drive) {
  await drive(Math.min(1000, durationMs / 4)); // warm-up, not counted
  await sleep(200);
  traffic.measuring = true;
  const meter = cpuMeter(pids, servicePids);
  const started = performance.now();
  await drive(durationMs);
  const sentUntil = performance.now();
  traffic.measuring = false;
  await quiet(traffic);
  // The measured stretch ends with the last delivery (or send): the quiet wait after it is
  // idle time, and would dilute the CPU figures.
  const cpu = meter(Math.max(sentUntil, traffic.lastDeliveryAt));
  return { sendSeconds: (sentUntil - started) / 1000, ...cpu, ...traffic.figures() };
}

// ---------------------------------------------------------------- scenarios

/** S1: senders at a fixed rate each (open loop), latency from send to the other's receipt. */
async function smallRooms(crowd, traffic, spec) {
  const { senders, ratePerSecond, durationSeconds } = spec.params;
  const directs = crowd.population.directs.slice(0, senders);
  const interval = 1000 / ratePerSecond;
  const drive = async (ms) => {
    const until = performance.now() + ms;
    await Promise.all(
      directs.map(async (direct, i) => {
        await sleep((i / directs.length) * interval); // spread the senders over a tick
        const pending = [];
        for (let next = performance.now(); next < until; next += interval) {
          pending.push(traffic.send(direct.members[0], direct.id));
          await sleep(Math.max(0, next + interval - performance.now()));
        }
        await Promise.all(pending);
      }),
    );
  };
  const result = await measured(traffic, spec.pids, spec.servicePids, durationSeconds * 1000, drive);
  result.offeredPerSecond = senders * ratePerSecond;
  return result;
}

/** S1max and S2: each sender keeps one message in flight, the next sent on its ack. */
async function closedLoop(crowd, traffic, spec, conversations) {
  const drive = async (ms) => {
    const until = performance.now() + ms;
    await Promise.all(
      conversations.map(async (conversation) => {
        while (performance.now() < until) await traffic.send(conversation.members[0], conversation.id);
      }),
    );
  };
  const result = await measured(
    traffic,
    spec.pids,
    spec.servicePids,
    spec.params.durationSeconds * 1000,
    drive,
  );
  result.ackedPerSecond = result.acked / result.sendSeconds;
  result.deliveriesPerSecond = result.deliveries / result.sendSeconds;
  const perDelivery = (seconds) =>
    seconds === null ? null : (1e6 * seconds) / Math.max(1, result.deliveries);
  result.serverCpuMicrosPerDelivery = perDelivery(result.serverCpuSeconds);
  result.servicesCpuMicrosPerDelivery = perDelivery(result.servicesCpuSeconds);
  return result;
}

/**
 * S3: what an idle connection costs. The first tenth of the users connect first, so that
 * what a server sets up once (connection pools, caches, lazily loaded code) is not charged
 * to the connections; the memory the rest add, over their number, is the figure.
 */
async function idle(crowd, spec) {
  const { users } = spec.params;
  const warm = Math.ceil(users / 10);
  const fresh = serverUsage(spec.pids).rssBytes;
  await crowd.connectAll(range(warm), CONNECT_CONCURRENCY);
  await sleep(SETTLE_MS);
  const before = serverUsage(spec.pids).rssBytes;
  const started = performance.now();
  await crowd.connectAll(range(users).slice(warm), CONNECT_CONCURRENCY);
  const connectSeconds = (performance.now() - started) / 1000;
  await sleep(SETTLE_MS);
  const after = serverUsage(spec.pids).rssBytes;
  return {
    users,
    warmUsers: warm,
    connectSeconds,
    rssFreshBytes: fresh,
    rssBeforeBytes: before,
    rssAfterBytes: after,
    bytesPerConnection: (after - before) / (users - warm),
  };
}

async function connectStorm(crowd, spec) {
  const { users } = spec.params;
  const meter = cpuMeter(spec.pids, spec.servicePids);
  const started = performance.now();
  const times = await Promise.all(range(users).map((index) => crowd.connect(index)));
  const allInRoomsSeconds = (performance.now() - started) / 1000;
  return { users, allInRoomsSeconds, connectMs: summarize(times), ...meter() };
}

/** H1: a page of history just below the newest messages, against one at the very start. */
async function history(spec) {
  const { conversationId, lastSeq, token } = spec.history;
  const { requests, shallowDepth } = spec.params;
  const path = (before) => `/api/conversations/${conversationId}/messages?before=${before}&limit=${PAGE_SIZE}`;
  const depths = { shallow: lastSeq - shallowDepth, deep: PAGE_SIZE + 1 };
  const times = { shallow: [], deep: [] };
  for (let i = 0; i < requests + 10; i++) {
    for (const which of ["shallow", "deep"]) {
      const started = performance.now();
      const page = await api(spec.urls[0], "GET", path(depths[which]), undefined, token);
      if (i >= 10) times[which].push(performance.now() - started); // the first ten warm up
      if (page.items.length !== PAGE_SIZE) throw new Error(`H1: a ${which} page held ${page.items.length}`);
    }
  }
  const shallow = summarize(times.shallow);
  const deep = summarize(times.deep);
  return { lastSeq, shallowMs: shallow, deepMs: deep, deepOverShallow: deep.p50 / shallow.p50 };
}

async function statementCount(url) {
  const response = await fetch(`${url}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics: ${response.status}`);
  const text = await response.text();
  let total = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("parley_database_statements_total")) total += Number(line.split(" ").pop());
  }
  return total;
}

/** L1: the first page of the conversation list of a user in many conversations. */
async function conversationList(spec) {
  const { userToken, conversations } = spec.list;
  const url = spec.urls[0];
  const times = [];
  let statements = null;
  const counted = 10; // the first request after the warm-up ones: caches are warm
  for (let i = 0; i < spec.params.requests + 10; i++) {
    const before = i === counted ? await statementCount(url) : 0;
    const started = performance.now();
    const page = await api(url, "GET", "/api/conversations", undefined, userToken);
    if (i >= 10) times.push(performance.now() - started);
    if (i === counted) statements = (await statementCount(url)) - before;
    if (!page.items.some((item) => item.unreadCount > 0)) throw new Error("L1: no unread counts");
  }
  return { conversations, statements, latencyMs: summarize(times) };
}

function range(n) {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Spec: {scenario, urls, pids, servicePids, params, population (file), history?, list?,
 * runId}; servicePids are PostgreSQL's and Redis's, whose CPU is reported apart.
 * Users are connected before the clock starts, but for S3 and S4, which time connecting.
 */
async function run(spec) {
  if (spec.scenario === "H1") return history(spec);
  if (spec.scenario === "L1") return conversationList(spec);
  const population = JSON.parse(readFileSync(spec.population, "utf8"));
  const crowd = new Crowd(spec, population);
  try {
    if (spec.scenario === "S3") return await idle(crowd, spec);
    if (spec.scenario === "S4") return await connectStorm(crowd, spec);
    const traffic = new Traffic(crowd, spec.runId);
    const { directs, groups } = population;
    if (spec.scenario === "S2" || spec.scenario === "S2x") {
      const chosen = groups.slice(0, spec.params.groups);
      if (spec.scenario === "S2x") crowd.senders = new Set(chosen.map((group) => group.members[0]));
      await crowd.connectAll(chosen.flatMap((group) => group.members), CONNECT_CONCURRENCY);
      return await closedLoop(crowd, traffic, spec, chosen);
    }
    const chosen = directs.slice(0, spec.params.conversations);
    await crowd.connectAll(chosen.flatMap((direct) => direct.members), CONNECT_CONCURRENCY);
    if (spec.scenario === "S1") return await smallRooms(crowd, traffic, spec);
    if (spec.scenario === "S1max")
      return await closedLoop(crowd, traffic, spec, chosen.slice(0, spec.params.senders));
    throw new Error(`unknown scenario ${spec.scenario}`);
  } finally {
    crowd.close();
  }
}

const [command, specPath] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(specPath, "utf8"));
const commands = { populate, run };
if (!commands[command]) {
  log(`usage: loadgen.mjs populate|run SPEC.json`);
  process.exit(2);
}
try {
  const result = await commands[command](spec);
  if (result !== undefined) process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (err) {
  log(`FAILED: ${err.stack ?? err}`);
  process.exit(1);
}
