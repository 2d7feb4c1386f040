// Unknown tokens on the plots' token axes: a token the model does not know is written ‹token›?
// and dimmed on the tick, and its hover text says what the model read instead ("<unk>", or
// the zero vector). The trace says which steps were unknown (contracts §4: tokens_unknown,
// tokens_seen).
import { plotlyText } from "../plots.js";

const DIM = "rgba(128,128,128,0.85)";

/** Is step t's token unknown to the model? */
export function isUnknown(tr, t) {
  const step = tr.steps && tr.steps[t];
  if (step && step.unknown != null) return Boolean(step.unknown);
  return Array.isArray(tr.tokens_unknown) && tr.tokens_unknown.includes(t);
}

/** What the model read at step t instead of an unknown token, as plotly text. */
export function seenAs(tr, t) {
  const step = tr.steps && tr.steps[t];
  const seen = step && step.seen_as !== undefined ? step.seen_as : (tr.tokens_seen || [])[t];
  return seen == null ? "the zero vector" : plotlyText(seen);
}

/** Tick labels (plotly text): each token, unknown ones as a dimmed ‹token›?. */
export function tickText(tr) {
  return tr.tokens.map((tok, t) => (isUnknown(tr, t)
    ? `<span style="color:${DIM}">‹${plotlyText(tok)}›?</span>` : plotlyText(tok)));
}

/** Hover text per step (it goes between quotes): the token, and for an unknown one what the
 * model read instead: “‹Ça›? read as <unk>”. */
export function hoverTokens(tr) {
  return tr.tokens.map((tok, t) => (isUnknown(tr, t)
    ? `‹${plotlyText(tok)}›? read as ${seenAs(tr, t)}` : plotlyText(tok)));
}

/** The same per heatmap cell (`rows` × T). */
export function hoverRows(tr, rows) {
  const toks = hoverTokens(tr);
  return Array.from({ length: rows }, () => toks);
}
