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

const decoded = new Map();   // index in offline.traces -> Promise of its frames

function framesOf(i) {
  if (!decoded.has(i)) {
    decoded.set(i, Promise.all(offline.traces[i].frames.map(async (b64) => unpackFrames(await inflate(b64))))
      .then((halves) => halves.flat()));
  }
  return decoded.get(i);
}

export function offlineModels() {
  return Promise.resolve(offline.models.map((m) => ({ ...m })));
}

function sameRequest(rec, body) {
  const m = offline.models.find((x) => x.id === body.model);
  const L = m ? m.num_layers : 1;
  const layerOf = (l) => (l == null ? L - 1 : l < 0 ? L + l : l);
  return rec.model === body.model && rec.text === body.text &&
    (rec.clip ?? null) === (body.clip ?? null) && (rec.truncate ?? null) === (body.truncate ?? null) &&
    (rec.truncate == null || rec.truncate_mode === (body.truncate_mode || "chunked")) &&
    layerOf(rec.layer) === layerOf(body.layer) && (rec.direction || 0) === (body.direction || 0);
}

/** The embedded trace for a POST /api/trace body, or an error saying what the file holds. */
export async function offlineTrace(body) {
  const i = offline.traces.findIndex((tr) => sameRequest(tr.request, body));
  if (i < 0) {
    const held = offline.traces[0].request;
    throw needsServer(`This file holds the trace of “${held.text}” through ${held.model}; ` +
      "another sentence, model, layer or setting");
  }
  return assemble(await framesOf(i));
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
 * links to the server are hidden, and each view that needs the server (Generate, Compare
 * without its traces, importing a model) is replaced by a note saying so.
 */
export function markOffline(state) {
  const $ = (id) => document.getElementById(id);
  document.documentElement.dataset.offline = "1";
  const t = offline.traces[0].request;
  document.title = `Unrolled · ${t.model} · “${t.text}” (exported)`;
  const fixed = "Fixed in this exported file: the live page (unrolled) changes it.";
  for (const id of ["text-input", "model-select", "clip-input", "truncate-input", "truncate-mode", "layer-select"]) {
    const input = $(id);
    if (input) { input.disabled = true; input.title = fixed; }
  }
  for (const id of ["copy-link", "copy-embed", "download-view", "open-full"]) {
    if ($(id)) $(id).hidden = true;
  }
  const badge = el("span", { class: "offline-badge", title: fixed }, "exported view · works offline");
  const brand = document.querySelector(".brand"), head = document.querySelector(".embed-head");
  if (brand) brand.after(badge);
  else if (head) head.querySelector(".ledger")?.after(badge);
  const blocked = [["generate", "Generating text"]];
  if (!offline.compare) blocked.push(["compare", "Comparing with the other cells (export this view from its tab to include them)"]);
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
}
