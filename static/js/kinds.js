// Model kinds other than the sequence models (GET /api/models' `kind`): which route traces them,
// the request made from the State, and the timeline the player walks. The sequence models keep
// the controller's own path (/ws, POST /api/trace); these go by POST (contracts §9–11).
import { postJson } from "./api.js";

const TOP_K = 5;

/** Cut a label to `n` characters (the player's step label stays on one line). */
function short(text, n = 22) {
  const chars = [...String(text)];
  return chars.length > n ? `${chars.slice(0, n - 1).join("")}…` : chars.join("");
}

/**
 * The encoder–decoder's timeline: the S encoder steps, the context vector, then the T decoder
 * steps (index S + 1 + t). Backward walks it from the last decoder step back to encoder step 0.
 */
function seq2seqTimeline(tr) {
  const S = tr.encoder.length;
  return [
    ...tr.encoder.map((e) => ({ part: "encoder", index: e.s, token: short(e.token, 8) })),
    { part: "context", index: 0, token: "ctx" },
    ...tr.decoder.map((d) => ({ part: "decoder", index: d.t, token: `→${short(d.predicted_token, 6)}`,
      at: S + 1 + d.t })),
  ];
}

/** The tree's timeline: its nodes in computation order (post-order: children before parents). */
function treeTimeline(tr) {
  return tr.nodes.map((n) => ({ part: n.children.length ? "node" : "leaf", index: n.id, token: short(n.phrase, 10) }));
}

export const KINDS = {
  seq2seq: {
    url: "/api/seq2seq/trace",
    request: (state) => ({ model: state.model, source: state.text, top_k: TOP_K,
      ...(state.target ? { target: state.target } : {}) }),
    timeline: seq2seqTimeline,
    title: (tr, state) => `${tr.cell.toUpperCase()} encoder–decoder${tr.attention ? " + attention" : ""} · “${state.text}”`,
  },
  tree: {
    url: "/api/tree/trace",
    request: (state) => ({ model: state.model, text: state.text,
      ...(state.target ? { label: state.target } : {}) }),
    timeline: treeTimeline,
    title: (tr) => `Tree network · “${tr.bracketed}”`,
  },
};

/** "sequence" | "seq2seq" | "tree": which trace route (and which views) a model takes. */
export function kindOf(model) {
  return model && KINDS[model.kind] ? model.kind : "sequence";
}

/** Trace the State's input with a model of this kind; the answer gets `steps` (the timeline). */
export async function fetchKindTrace(kind, state, signal) {
  const k = KINDS[kind];
  const trace = await postJson(k.url, k.request(state), signal);
  trace.steps = k.timeline(trace);
  return trace;
}

/** The attention what-if (POST /api/seq2seq/whatif) on the State's trace request. */
export function fetchWhatIf(state, change) {
  return postJson("/api/seq2seq/whatif", { ...KINDS.seq2seq.request(state), ...change });
}
