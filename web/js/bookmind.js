// The BookMind protocol client (PROTOCOL.md and docs/protocol.md): REST with token
// rotation, uploads with progress, and one WebSocket that resumes every channel from its
// last `seq` after a drop. It knows nothing of the page, so any web app can reuse it.
//
//   const bm = new BookMind();
//   await bm.login("ada", "secret");
//   bm.addEventListener("event", (e) => console.log(e.detail));  // every channel event
//   bm.connect({ resume: { [bm.userChannel]: seqFromRest } });
//   await bm.call("highlight.create", {...});                       // resolves on ack

const SESSION_KEY = "bookmind.session";
const DEVICE_KEY = "bookmind.device";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || "internal";
    this.field = (body && body.field) || null;
    this.retryAfter = null;
  }
}

/** `X-Event-Seq: user:…=4, book:…=9` → {"user:…": 4, "book:…": 9} */
export function parseEventSeq(header) {
  const seqs = {};
  for (const part of (header || "").split(",")) {
    const at = part.lastIndexOf("=");
    if (at > 0) seqs[part.slice(0, at).trim()] = Number(part.slice(at + 1));
  }
  return seqs;
}

/** The body of a response, or an ApiError for a status that is not 2xx. */
async function readJson(res) {
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (res.ok) return data;
  const err = new ApiError(res.status, data);
  err.retryAfter = res.headers.get("Retry-After");
  throw err;
}

function randomId() {
  return crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
}

export class BookMind extends EventTarget {
  constructor({ base = location.origin, storage = localStorage } = {}) {
    super();
    this.base = base.replace(/\/$/, "");
    this.storage = storage;
    this.session = JSON.parse(storage.getItem(SESSION_KEY) || "null");
    // one device per tab: two tabs are two devices, so each hears the other's writes
    this.device = sessionStorage.getItem(DEVICE_KEY) || `web-${randomId().slice(0, 8)}`;
    sessionStorage.setItem(DEVICE_KEY, this.device);
    this.ws = null;
    this.seqs = {}; // channel → last seq delivered to listeners
    this.channels = new Set(); // book channels to subscribe again after a reconnect
    this.pending = new Map(); // request id → {resolve, reject} or an ask's handlers
    this.wanted = false; // the app wants a socket: reconnect when it drops
    this.backoff = 500;
    this.refreshing = null;
    this.status = "offline";
    this.welcomes = 0; // sockets opened: one for a whole session that never dropped
    addEventListener("online", () => this.wanted && this._open());
    addEventListener("offline", () => this.ws && this.ws.close(4000, "offline"));
    addEventListener("storage", (e) => this._sessionChangedElsewhere(e));
  }

  get user() { return this.session && this.session.user; }
  get userId() { return this.user && this.user.id; }
  get userChannel() { return `user:${this.userId}`; }
  get signedIn() { return Boolean(this.session); }

  // -- accounts --------------------------------------------------------------------

  async register(fields) {
    return this._start(await this._fetchJson("POST", "/auth/register", fields));
  }

  async login(login, password) {
    return this._start(await this._fetchJson("POST", "/auth/login", { login, password }));
  }

  /** A request that needs no session (the links mail carries). */
  anonymous(method, path, body) { return this._fetchJson(method, path, body); }

  /** The account changed (a PATCH, a confirmation): keep the stored session's copy true. */
  setUser(user) {
    if (!this.session) return;
    this.session.user = user;
    this.storage.setItem(SESSION_KEY, JSON.stringify(this.session));
  }

  async logout() {
    const token = this.session && this.session.refresh_token;
    this._end();
    if (token) await this._fetchJson("POST", "/auth/logout", { refresh_token: token }).catch(() => {});
  }

  /** A new token pair. Tabs share the stored session, and a refresh token works once: a
   * lock makes tabs take turns, and one that finds the stored pair already rotated by
   * another tab uses that instead of spending the old token (which would burn the chain). */
  refresh() {
    if (!this.refreshing) {
      const run = async () => {
        const stored = JSON.parse(this.storage.getItem(SESSION_KEY) || "null");
        if (!stored) throw new ApiError(401, { message: "signed out" });
        const mine = this.session && this.session.refresh_token;
        if (stored.refresh_token !== mine && stored.expires_at > Date.now() + 30_000) {
          this.session = stored;
          return;
        }
        try {
          const body = await this._fetchJson("POST", "/auth/refresh", { refresh_token: stored.refresh_token });
          this._save(body);
        } catch (err) {
          if (err.status === 401) this._end();
          throw err;
        }
      };
      const locked = navigator.locks ? navigator.locks.request("bookmind-refresh", run) : run();
      this.refreshing = locked.finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  _start(body) {
    this._save(body);
    this.seqs = {};
    return body.user;
  }

  _save(body) {
    this.session = {
      access_token: body.access_token,
      refresh_token: body.refresh_token,
      expires_at: Date.now() + body.expires_in * 1000,
      user: body.user || (this.session && this.session.user),
    };
    this.storage.setItem(SESSION_KEY, JSON.stringify(this.session));
    this._scheduleRenewal();
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.welcomed) {
      this._send({ type: "auth", id: randomId(), token: this.session.access_token });
    }
  }

  _end() {
    this.session = null;
    this.storage.removeItem(SESSION_KEY);
    this.disconnect();
    this.dispatchEvent(new CustomEvent("signedout"));
  }

  _sessionChangedElsewhere(e) {
    if (e.key !== SESSION_KEY) return;
    const stored = JSON.parse(e.newValue || "null");
    if (!stored) { this._end(); return; }
    this.session = stored;
  }

  /** Renew the access token before it expires, so the open socket (renewed in-band with
   * the `auth` frame) is never closed with 4401 while the reader is reading. */
  _scheduleRenewal() {
    clearTimeout(this.renewal);
    if (!this.session) return;
    const lead = Math.max(5_000, (this.session.expires_at - Date.now()) * 0.2);
    this.renewal = setTimeout(() => this.refresh().catch(() => {}),
      Math.max(1_000, this.session.expires_at - Date.now() - lead));
  }

  // -- REST ------------------------------------------------------------------------

  /** `{data, seqs, status}`; `seqs` is the X-Event-Seq header, channel → seq. */
  async request(method, path, body, { retry = true, headers = {} } = {}) {
    if (this.session && this.session.expires_at < Date.now() + 5_000) await this.refresh();
    const res = await fetch(this.base + "/api/v1" + path, {
      method,
      headers: {
        ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...(this.session ? { Authorization: `Bearer ${this.session.access_token}` } : {}),
        "X-Device": this.device,
        ...headers,
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    if (res.status === 401 && retry && this.session) {
      await this.refresh();
      return this.request(method, path, body, { retry: false, headers });
    }
    const data = await readJson(res);
    return { data, seqs: parseEventSeq(res.headers.get("X-Event-Seq")), status: res.status };
  }

  async get(path) { return (await this.request("GET", path)).data; }
  async post(path, body = {}) { return (await this.request("POST", path, body)).data; }
  async patch(path, body) { return (await this.request("PATCH", path, body)).data; }
  async put(path, body) { return (await this.request("PUT", path, body)).data; }
  async del(path) { return (await this.request("DELETE", path)).data; }

  async _fetchJson(method, path, body) {
    const res = await fetch(this.base + "/api/v1" + path, {
      method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    return readJson(res);
  }

  /** An authenticated binary resource (a cover) as an object URL, or null on 404. */
  async objectUrl(path) {
    if (this.session && this.session.expires_at < Date.now() + 5_000) await this.refresh();
    const res = await fetch(this.base + path, {
      headers: { Authorization: `Bearer ${this.session.access_token}` },
    });
    if (!res.ok) return null;
    return URL.createObjectURL(await res.blob());
  }

  /** A multipart POST to the API (an import's file); resolves to the JSON answer. */
  async postForm(path, form) {
    if (this.session && this.session.expires_at < Date.now() + 5_000) await this.refresh();
    const res = await fetch(this.base + "/api/v1" + path, {
      method: "POST", body: form,
      headers: { Authorization: `Bearer ${this.session.access_token}`, "X-Device": this.device },
    });
    return readJson(res);
  }

  /** An API file to save (an export): its Blob and the name the server gave it. */
  async download(path) {
    if (this.session && this.session.expires_at < Date.now() + 5_000) await this.refresh();
    const res = await fetch(this.base + "/api/v1" + path, {
      headers: { Authorization: `Bearer ${this.session.access_token}` },
    });
    if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => ({})));
    const disposition = res.headers.get("Content-Disposition") || "";
    const named = disposition.match(/filename\*=UTF-8''([^;]+)/);
    return { blob: await res.blob(), filename: named ? decodeURIComponent(named[1]) : "export" };
  }

  /** POST /books with upload progress (fetch cannot report it). Resolves to the Book. */
  upload(file, fields = {}, onProgress = () => {}) {
    const send = () => new Promise((resolve, reject) => {
      const form = new FormData();
      form.append("file", file);
      for (const [k, v] of Object.entries(fields)) if (v) form.append(k, v);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", this.base + "/api/v1/books");
      xhr.setRequestHeader("Authorization", `Bearer ${this.session.access_token}`);
      xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
      xhr.onload = () => {
        const data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
        if (xhr.status >= 200 && xhr.status < 300) resolve(data);
        else {
          const err = new ApiError(xhr.status, data);
          err.retryAfter = xhr.getResponseHeader("Retry-After");
          reject(err);
        }
      };
      xhr.onerror = () => reject(new ApiError(0, { message: "the upload could not reach the server" }));
      xhr.send(form);
    });
    const fresh = this.session.expires_at > Date.now() + 30_000 ? Promise.resolve() : this.refresh();
    return fresh.then(send);
  }

  // -- the socket ------------------------------------------------------------------

  /** Open the socket and keep it open. `resume` seeds channel → seq (e.g. the user
   * channel's head from X-Event-Seq of the state just loaded): nothing after it is missed. */
  connect({ resume = {} } = {}) {
    for (const [ch, seq] of Object.entries(resume)) {
      if (!(ch in this.seqs)) this.seqs[ch] = seq;
    }
    this.wanted = true;
    if (!this.ws) this._open();
  }

  disconnect() {
    this.wanted = false;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeat);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
    this.channels.clear();
    this._setStatus("offline");
  }

  async _open() {
    if (!this.session || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
    if (this.session.expires_at < Date.now() + 10_000) {
      try { await this.refresh(); } catch { return; }
    }
    const url = this.base.replace(/^http/, "ws") + "/ws";
    const ws = new WebSocket(url);
    this.ws = ws;
    this.welcomed = false;
    this._setStatus("connecting");
    ws.onopen = () => {
      const resume = {};
      if (this.userChannel in this.seqs) resume[this.userChannel] = this.seqs[this.userChannel];
      ws.send(JSON.stringify({ type: "hello", token: this.session.access_token, device: this.device, resume }));
    };
    ws.onmessage = (m) => this._receive(JSON.parse(m.data));
    ws.onclose = (e) => this._closed(ws, e);
  }

  _closed(ws, e) {
    if (this.ws !== ws) return;
    this.ws = null;
    clearInterval(this.heartbeat);
    this._setStatus("offline");
    for (const [id, p] of this.pending) {
      if (p.reject) p.reject(new ApiError(0, { code: "offline", message: "connection lost" }));
      else if (p.onError) p.onError({ code: "disconnected", message: "connection lost; the answer is kept and shows in past conversations" });
      this.pending.delete(id);
    }
    if (!this.wanted) return;
    if (e.code === 4401) {
      // the token expired or the login was revoked: one refresh, else signed out
      this.refresh().then(() => this._open(), () => {});
      return;
    }
    this.reconnectTimer = setTimeout(() => this._open(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 10_000);
  }

  _setStatus(status) {
    this.status = status;
    this.dispatchEvent(new CustomEvent("status", { detail: status }));
  }

  _send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  _receive(frame) {
    switch (frame.type) {
      case "welcome":
        this.welcomed = true;
        this.welcomes += 1;
        this.backoff = 500;
        this._setStatus("online");
        this._startHeartbeat(frame.heartbeat_s);
        for (const ch of this.channels) this._subscribeFrame(ch);
        return;
      case "event":
        return this._event(frame);
      case "resync":
        this.seqs[frame.channel] = frame.seq;
        this.dispatchEvent(new CustomEvent("resync", { detail: frame }));
        return;
      case "unsubscribed":
        this.channels.delete(frame.channel);
        this.dispatchEvent(new CustomEvent("unsubscribed", { detail: frame }));
        return;
      case "pong":
        this.lastPong = Date.now();
        return;
      default:
        return this._answer(frame);
    }
  }

  _event(frame) {
    if (frame.seq !== undefined && frame.seq !== null) {
      const last = this.seqs[frame.channel];
      if (last !== undefined && frame.seq <= last) return; // already delivered
      if (last !== undefined && frame.seq > last + 1 && this.ws) {
        // a gap: reconnecting resumes from `last`, so the missing ones come first
        this.ws.close(4000, "gap");
        return;
      }
      this.seqs[frame.channel] = frame.seq;
      if (frame.event === "redacted") return;
    }
    this.dispatchEvent(new CustomEvent("event", { detail: frame }));
  }

  _answer(frame) {
    const p = this.pending.get(frame.id);
    if (!p) return;
    if (p.resolve) {
      this.pending.delete(frame.id);
      if (frame.type === "ack") p.resolve(frame.result);
      else p.reject(new ApiError(0, frame));
      return;
    }
    // an AI answer: ai.started, ai.delta…, then ai.completed or ai.error (or an error frame)
    if (frame.type === "ai.started") p.onStarted && p.onStarted(frame);
    else if (frame.type === "ai.delta") p.onDelta && p.onDelta(frame);
    else {
      this.pending.delete(frame.id);
      if (frame.type === "ai.completed") p.onCompleted && p.onCompleted(frame);
      else p.onError && p.onError(frame);
    }
  }

  _startHeartbeat(seconds) {
    clearInterval(this.heartbeat);
    this.lastPong = Date.now();
    const every = Math.max(5, (seconds || 25) - 5) * 1000;
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastPong > every * 2 + 10_000 && this.ws) this.ws.close(4000, "silent");
      else this._send({ type: "ping", id: randomId() });
    }, every);
  }

  _request(frame) {
    return new Promise((resolve, reject) => {
      const id = randomId();
      this.pending.set(id, { resolve, reject });
      if (!this._send({ ...frame, id })) {
        this.pending.delete(id);
        reject(new ApiError(0, { code: "offline", message: "not connected" }));
      }
    });
  }

  /** A `call` (a write): resolves with the ack's result once it is committed. */
  call(method, params) {
    return this._request({ type: "call", method, params });
  }

  /** Subscribe to a book channel (or `trending`); `since` replays what came after it. */
  async subscribe(channel, since) {
    this.channels.add(channel);
    if (since !== undefined && !(channel in this.seqs)) this.seqs[channel] = since;
    if (this.welcomed) return this._subscribeFrame(channel);
    return null;
  }

  _subscribeFrame(channel) {
    const frame = { type: "subscribe", channel };
    if (channel in this.seqs) frame.since = this.seqs[channel];
    return this._request(frame).then((result) => {
      if (!(channel in this.seqs)) this.seqs[channel] = result.seq;
      return result;
    }, (err) => {
      this.channels.delete(channel);
      throw err;
    });
  }

  async unsubscribe(channel) {
    this.channels.delete(channel);
    delete this.seqs[channel];
    if (this.welcomed) await this._request({ type: "unsubscribe", channel }).catch(() => {});
  }

  /** Ask about a book; handlers get ai.started / ai.delta / ai.completed / ai.error
   * frames. Returns {cancel}. */
  ask(params, handlers) {
    const id = randomId();
    this.pending.set(id, handlers);
    if (!this._send({ type: "ai.ask", id, ...params })) {
      this.pending.delete(id);
      handlers.onError && handlers.onError({ code: "offline", message: "not connected; try again when the connection is back" });
    }
    return { cancel: () => this._send({ type: "ai.cancel", id }) };
  }
}
