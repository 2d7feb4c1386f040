// Talking to the server: fetch for models and traces, a WebSocket for streamed traces and live typing.
// Every JSON request of the page goes through `request` below: in an exported file (offline.js)
// it is answered from the requests the file recorded, or refused as needing the live server.

import { unpackFrames } from "./binary.js";
import { offline, offlineModels, offlineAnswer, needsServer } from "./offline.js";

async function json(resp) {
  if (!resp.ok) {
    let msg = `${resp.status} ${resp.statusText}`;
    try {
      const body = await resp.json();
      if (body && body.detail) msg = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    } catch { /* not JSON */ }
    const err = new Error(msg);
    err.status = resp.status;
    throw err;
  }
  const text = await resp.text();   // a 204 (or any empty answer) is null
  return text ? JSON.parse(text) : null;
}

/**
 * One request with an optional JSON body; the JSON reply (a 4xx/5xx throws an Error with the
 * server's detail and its `status`). `headers` adds to the JSON content type.
 */
export async function request(method, url, { body, signal, headers = {} } = {}) {
  if (offline) return offlineAnswer(method, url, body);
  const init = { method, signal, headers: { ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return json(await fetch(url, init));
}

/** POST a JSON body, answer the JSON reply (a 4xx/5xx throws an Error with the server's detail). */
export function postJson(url, body, signal) {
  return request("POST", url, { body, signal });
}

export async function fetchModels() {
  if (offline) return offlineModels();
  return request("GET", "/api/models");
}

/** The POST /api/trace body (contracts §4) from the page state. */
export function traceRequest(state, model = state.model) {
  return {
    model,
    text: state.text,
    truncate: state.truncate,
    ...(state.truncate == null ? {} : { truncate_mode: state.tmode }),
    clip: state.clip,
    layer: state.layer,
    direction: state.direction,
    top_k: 5,
    // The T×T gradient-flow matrix is the costliest part of a trace; ask for it only when the
    // Gradients view shows it (the controller fetches it when that view opens).
    flow: state.view === "gradients",
  };
}

/** The PCA of one cell's hidden state (GET /api/models/{id}/projection): the path view's axes. */
export function fetchProjection(model, layer, direction) {
  const q = new URLSearchParams({ layer: String(layer), direction: String(direction) });
  return request("GET", `/api/models/${encodeURIComponent(model)}/projection?${q}`);
}

export function fetchTrace(body, signal) {
  return request("POST", "/api/trace", { body, signal });
}

/** Generate text (POST /api/sample): every step's input, distribution and draw. */
export async function fetchSample(body, signal) {
  if (offline) throw needsServer("Generating text");
  return request("POST", "/api/sample", { body, signal });
}

/** One model's details, with its vocabulary (GET /api/models/{id}). */
export function fetchModel(id) {
  return request("GET", `/api/models/${encodeURIComponent(id)}`);
}

/** The bag-of-words companions (GET /api/bow). */
export function fetchBowModels() {
  return request("GET", "/api/bow");
}

/** A bag-of-words answer beside its recurrent companion's (POST /api/bow/predict). */
export function predictBow(body) {
  return request("POST", "/api/bow/predict", { body });
}

/** Finite-difference check of one gradient entry (server computes both sides). */
export async function gradcheck(body) {
  if (offline) throw needsServer("The gradient check");
  return request("POST", "/api/gradcheck", { body });
}

/**
 * The /ws client (contracts §5). A trace request resolves with a full trace assembled from the
 * start/forward/backward/done frames, and hands the same object to its `onForward` as soon as
 * the last forward frame is in (its `backward` still empty: the server computes BPTT after
 * sending the forward half); a sample request resolves with the POST /api/sample body assembled
 * from its sample/sample-done frames; live feed frames are handed to `onLive` one by one.
 * Requests are answered in order, so pending traces and samples form one queue.
 */
export class TraceSocket {
  constructor({ onLive = () => {}, onError = () => {}, onStatus = () => {} } = {}) {
    this.onLive = onLive;
    this.onError = onError;
    this.onStatus = onStatus;
    this.pending = [];        // [{resolve, reject, trace}]
    this.ws = null;
    this.ready = null;
  }

  connect() {
    if (offline) return Promise.reject(needsServer("The WebSocket"));
    if (this.ready) return this.ready;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    this.ready = new Promise((resolve, reject) => {
      const ws = new WebSocket(`${proto}//${location.host}/ws`);
      ws.addEventListener("open", () => { this.onStatus("open"); resolve(this); });
      ws.addEventListener("error", () => reject(new Error("WebSocket failed")));
      ws.addEventListener("close", () => {
        this.onStatus("closed");
        for (const p of this.pending.splice(0)) p.reject(new Error("WebSocket closed"));
        this.ws = null;
        this.ready = null;
      });
      ws.binaryType = "arraybuffer";
      ws.addEventListener("message", (ev) => {
        // A trace arrives as two arrays of frames (forward half, then backward half), each one
        // binary message (exact float64, less than half the size of JSON); the rest is JSON.
        const m = ev.data instanceof ArrayBuffer ? unpackFrames(ev.data) : JSON.parse(ev.data);
        for (const frame of Array.isArray(m) ? m : [m]) this.handle(frame);
      });
      this.ws = ws;
    });
    return this.ready;
  }

  get isOpen() {
    return this.ws != null && this.ws.readyState === WebSocket.OPEN;
  }

  handle(msg) {
    if (msg.type === "error") {
      const head = this.pending.shift();
      if (head) head.reject(new Error(msg.message));
      else this.onError(new Error(msg.message));
      return;
    }
    if (msg.type === "reset") return;
    if (msg.live) { this.onLive(msg); return; }
    const head = this.pending[0];
    if (!head) return;
    const { phase, ...rest } = msg;
    if (head.kind === "sample") {
      if (phase === "sample") head.steps.push(rest);
      else if (phase === "sample-done") {
        this.pending.shift();
        head.resolve({ ...rest, steps: head.steps });
      }
      return;
    }
    if (phase === "start") {
      head.trace = { ...rest, steps: [], backward: [], grad_flow: null };
    } else if (phase === "forward" && head.trace) {
      head.trace.steps[rest.t] = rest;
      if (rest.t === head.trace.T - 1 && head.onForward) {
        // (a view that fails to draw must not stop the frames that follow being read)
        try { head.onForward(head.trace); } catch (err) { console.error(err); }
      }
    } else if (phase === "backward" && head.trace) {
      head.trace.backward[rest.t] = rest;
    } else if (phase === "done" && head.trace) {
      Object.assign(head.trace, rest);
      this.pending.shift();
      head.resolve(head.trace);
    }
  }

  /** Stream a trace; the server's current state becomes the end of this sentence.
   * `onForward(trace)`: called once the forward half is in, before the promise resolves. */
  async trace(body, onForward = null) {
    await this.connect();
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject, trace: null, onForward });
      this.ws.send(JSON.stringify({ type: "trace", encoding: "binary", ...body }));
    });
  }

  /** Generate text (the fields of POST /api/sample); the live-typing state is left alone. */
  async sample(body) {
    await this.connect();
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject, kind: "sample", steps: [] });
      this.ws.send(JSON.stringify({ type: "sample", batch: true, ...body }));
    });
  }

  feed(text) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify({ type: "feed", text }));
    return true;
  }

  reset() {
    if (this.isOpen) this.ws.send(JSON.stringify({ type: "reset" }));
  }
}
