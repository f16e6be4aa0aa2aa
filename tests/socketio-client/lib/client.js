// socket.io-client helpers: the two transport modes, an event recorder with bounded waits.

import { io } from "socket.io-client";

/** How long any single wait may take before the test fails. */
export const WAIT_MS = 3_000;

/** Both ways a client connects: the web UI's default (polling, then upgrade) and WebSocket only. */
export const TRANSPORTS = [
  { name: "polling then upgrade", options: {} },
  { name: "websocket only", options: { transports: ["websocket"] } },
];

/** Rejects after `ms` with a message naming what was awaited. */
export function within(promise, what, ms = WAIT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves with the arguments of the next `event` on an emitter (bounded). */
export function once(emitter, event, ms = WAIT_MS) {
  return within(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), `"${event}"`, ms);
}

/**
 * Every event a socket receives, in order (application events and the reserved `connect`,
 * `connect_error`, `disconnect`), so a test can wait for one that may already have arrived.
 */
export class Recorder {
  constructor(socket) {
    this.socket = socket;
    this.events = [];
    this.waiters = [];
    socket.onAny((name, ...args) => this.#push(name, args));
    for (const name of ["connect", "connect_error", "disconnect"]) {
      socket.on(name, (...args) => this.#push(name, args));
    }
  }

  #push(name, args) {
    const event = { name, args, payload: args[0], index: this.events.length, taken: false };
    this.events.push(event);
    for (const waiter of [...this.waiters]) {
      if (waiter.matches(event)) {
        event.taken = true;
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(event);
        return;
      }
    }
  }

  /**
   * The first not yet taken `name` event (or one of several names) for which
   * `filter(payload, event)` holds, waiting up to `ms`.
   * Resolves `{name, payload, args, index}`; `index` orders events of one socket.
   */
  next(name, filter = () => true, ms = WAIT_MS) {
    const names = Array.isArray(name) ? name : [name];
    const matches = (event) => !event.taken && names.includes(event.name) && filter(event.payload, event);
    const found = this.events.find(matches);
    if (found) {
      found.taken = true;
      return Promise.resolve(found);
    }
    let waiter;
    const arrived = new Promise((resolve) => {
      waiter = { matches, resolve };
      this.waiters.push(waiter);
    });
    return within(arrived, JSON.stringify(names), ms).catch((err) => {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      err.message += `; received so far: ${this.summary()}`;
      throw err;
    });
  }

  /** The event names received so far (for failure messages). */
  summary() {
    return JSON.stringify(this.events.map((event) => event.name));
  }
}

/**
 * A socket to `server` with `auth` and `options` (reconnection off unless asked, so a broken
 * server fails fast), its recorder attached before it connects.
 */
export function client(server, { auth, ...options } = {}) {
  const socket = io(`${server.url}/`, {
    auth,
    autoConnect: false,
    forceNew: true,
    reconnection: false,
    timeout: WAIT_MS,
    ...options,
  });
  const recorder = new Recorder(socket);
  socket.connect();
  return { socket, recorder };
}

/** A connected client for `entityId`, after its `connection_established`. */
export async function connected(server, entityId, options = {}) {
  const connection = client(server, { auth: { entityId }, ...options });
  const first = await connection.recorder.next(["connection_established", "connect_error"]).catch((err) => {
    connection.socket.close();
    throw err;
  });
  if (first.name === "connect_error") {
    connection.socket.close();
    throw new Error(`connect_error: ${first.payload?.message}`);
  }
  connection.established = first.payload;
  return connection;
}

/** Joins `channelId` with the web UI's envelope; resolves the `channel_joined` payload. */
export async function join({ socket, recorder }, channelId, entityId) {
  socket.emit("message", { type: 1, payload: { channelId, roomId: channelId, entityId } });
  const joined = await recorder.next("channel_joined", (p) => p?.channelId === channelId);
  await recorder.next("room_joined", (p) => p?.channelId === channelId);
  return joined.payload;
}
