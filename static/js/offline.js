// An exported file (server/export/): the page reads its models and traces from the data the file
// holds instead of the server, and says plainly what needs the live server. `offline` is null on
// the live page, so every other module can ask `if (offline)`.
import { unpackFrames } from "./binary.js";
import { el } from "./dom.js";

const node = document.getElementById("unrolled-offline");
export const offline = node ? JSON.parse(node.textContent) : null;

const LIVE = "run `unrolled` and open the page it serves";

/** An Error for something only the server can do (shown where the page shows errors). */
export function needsServer(what) {
  const err = new Error(`${what} needs the live server: this is an exported file (${LIVE}).`);
  err.status = 503;
  return err;
}

/** Base64 of gzipped bytes -> the bytes (DecompressionStream: no network involved). */
async function inflate(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

/** The frames of a trace (start, forward, backward, done; contracts §5) -> the trace. */
function assemble(frames) {
  let trace = null;
  for (const { phase, ...rest } of frames) {
    if (phase === "start") trace = { ...rest, steps: [], backward: [], grad_flow: null };
    else if (phase === "forward") trace.steps[rest.t] = rest;
    else if (phase === "backward") trace.backward[rest.t] = rest;
    else if (phase === "done") Object.assign(trace, rest);
  }
  return trace;
}

// ---- the recorded requests (server/export/page_requests.py) ----------------------------------
// Each request the page makes is found by its key: method, path (query sorted) and JSON body
// (keys sorted, nulls left out). A sequence trace is recorded with its gradient-flow matrix, so
// it answers the request with or without `flow`.
const IGNORED_FIELDS = { "/api/trace": ["flow"] };

function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const keys = Object.keys(v).filter((k) => v[k] != null).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** The key of a request: "POST /api/trace {...}". */
export function requestKey(method, url, body) {
  const u = new URL(url, "http://offline.invalid/");
  const query = new URLSearchParams([...u.searchParams].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const path = decodeURIComponent(u.pathname) + (query.size ? `?${query}` : "");
  let fields = body == null ? null : { ...body };
  for (const k of (fields && IGNORED_FIELDS[u.pathname]) || []) delete fields[k];
  return `${method.toUpperCase()} ${path} ${fields == null ? "" : canonical(fields)}`;
}

const table = new Map();        // key -> the recorded answer
for (const r of offline ? offline.requests : []) table.set(requestKey(r.method, r.path, r.body), r);
const inflated = new Map();     // key -> Promise of the answer's bytes (inflated once)

function bytesOf(key, b64) {
  if (!inflated.has(key)) inflated.set(key, inflate(b64));
  return inflated.get(key);
}

/** What a request not in the file would have done, in words (for the "needs the live server"). */
function whatIs(path, body) {
  const text = body && (body.text ?? body.source);
  if (path.startsWith("/api/trace") || path.endsWith("/trace")) {
    return text != null ? `Tracing “${text}” with ${body.model}` : "Another trace";
  }
  if (path.includes("/projection")) return "The projection of another layer or direction";
  if (path.startsWith("/api/seq2seq/whatif")) return "Another attention what-if";
  if (path.startsWith("/api/bow/predict")) return `The bag of words on “${text}”`;
  return `${path.split("?")[0]}`;
}

/**
 * The recorded answer of a request (a fresh object each time: views may change what they get),
 * the server's recorded refusal as an Error, or an Error saying it needs the live server.
 */
export async function offlineAnswer(method, url, body) {
  const key = requestKey(method, url, body);
  const r = table.get(key);
  if (!r) {
    const held = new URLSearchParams(offline.query);
    throw needsServer(`This file holds the view of “${held.get("text")}” through ${held.get("model")}. ` +
      whatIs(new URL(url, "http://offline.invalid/").pathname, body));
  }
  if (r.error) {
    const err = new Error(r.error.detail);
    err.status = r.error.status;
    throw err;
  }
  if (r.frames) {
    const halves = await Promise.all(r.frames.map((b64, i) => bytesOf(`${key}#${i}`, b64)));
    return assemble(halves.flatMap((buf) => unpackFrames(buf)));
  }
  return JSON.parse(new TextDecoder().decode(await bytesOf(key, r.json)));
}

export function offlineModels() {
  return Promise.resolve(offline.models.map((m) => ({ ...m })));
}

let plotly = null;

/** plotly.js from the file (gzipped, base64), run from a blob: URL. */
export function offlinePlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotly) {
    plotly = inflate(document.getElementById("unrolled-plotly").textContent).then((buf) =>
      new Promise((resolve, reject) => {
        const s = document.createElement("script");
        s.src = URL.createObjectURL(new Blob([buf], { type: "text/javascript" }));
        s.onload = () => resolve(window.Plotly);
        s.onerror = () => reject(new Error("plotly.js in this file failed to load"));
        document.head.append(s);
      }));
  }
  return plotly;
}

/**
 * Mark the page as an exported file: the inputs that would need a new trace are fixed, the
 * links to the server are hidden, and each part that needs the server (Generate, Train, the
 * classroom, importing a model, and Compare or Order matters when the file holds no answers for
 * them) is replaced by a note saying so.
 */
export function markOffline(state) {
  const $ = (id) => document.getElementById(id);
  document.documentElement.dataset.offline = "1";
  const held = new URLSearchParams(offline.query);
  document.title = `Unrolled · ${held.get("model")} · “${held.get("text")}” (exported)`;
  const fixed = "Fixed in this exported file: the live page (unrolled) changes it.";
  for (const id of ["text-input", "model-select", "clip-input", "truncate-input", "truncate-mode", "layer-select",
    "target-input", "label-select"]) {
    const input = $(id);
    if (input) { input.disabled = true; input.title = fixed; }
  }
  for (const id of ["copy-link", "copy-embed", "download-view", "open-full"]) {
    if ($(id)) $(id).hidden = true;
  }
  const room = $("room-button");
  if (room) { room.disabled = true; room.title = needsServer("The classroom").message; }
  const badge = el("span", { class: "offline-badge", title: fixed }, "exported view · works offline");
  const brand = document.querySelector(".brand"), head = document.querySelector(".embed-head");
  if (brand) brand.after(badge);
  else if (head) head.querySelector(".ledger")?.after(badge);
  const blocked = [["generate", "Generating text"]];
  if (!offline.views.includes("compare")) {
    blocked.push(["compare", "Comparing with the other cells (export this view from its tab to include them)"]);
  }
  if (!offline.views.includes("order")) blocked.push(["order", "Order matters (the bag-of-words models)"]);
  const notes = [];
  for (const [view, what] of blocked) {
    const panel = $(`view-${view}`);
    if (!panel) continue;
    panel.classList.add("offline-blocked");
    const note = el("p", { class: "offline-note", "data-offline-note": view }, needsServer(what).message);
    panel.after(note);
    notes.push([view, note]);
  }
  const showNotes = () => { for (const [view, note] of notes) note.hidden = state.view !== view; };
  state.addEventListener("change", (e) => { if (e.detail.changed.includes("view")) showNotes(); });
  showNotes();
  const imp = $("import-panel");
  if (imp) imp.replaceChildren(el("p", { class: "offline-note" }, needsServer("Importing a model").message));
  const train = document.querySelector("#train-panel [data-train-body]");
  if (train) {
    train.replaceChildren(el("p", { class: "offline-note", "data-offline-note": "train" },
      needsServer("Training a model").message));
  }
}
