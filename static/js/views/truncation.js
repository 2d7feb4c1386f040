// Truncated BPTT as the drawings need it (no DOM): the trace's chunks, their labels, and the
// chunk outlines of the gradient-flow matrix. The trace says how it was truncated:
// `truncation: {k, mode: "chunked" | "sliding", chunks: [[start, end), ...] | null}`.

/** The chunks [[start, end), ...] of a chunked trace (else null). Steps typed live after the
 * trace was computed are cut by the same rule: the last chunk fills up to k, then new ones. */
export function chunksOf(trace) {
  const tr = trace && trace.truncation;
  if (!tr || tr.mode !== "chunked" || !Array.isArray(tr.chunks)) return null;
  const chunks = tr.chunks.map(([a, b]) => [a, b]);
  const T = trace.steps.length;
  let last = chunks[chunks.length - 1];
  if (last && last[1] < T) last[1] = Math.min(T, last[0] + tr.k);
  while (last && last[1] < T) {
    last = [last[1], Math.min(T, last[1] + tr.k)];
    chunks.push(last);
  }
  return chunks;
}

/** Does a chunk boundary lie between steps a and b (neighbours, either order)? Then no
 * gradient flows from one to the other. */
export function acrossChunks(trace, a, b) {
  const chunks = chunksOf(trace);
  if (!chunks) return false;
  const chunkOf = (t) => chunks.findIndex(([s, e]) => s <= t && t < e);
  const T = trace.steps.length;
  return a >= 0 && b >= 0 && a < T && b < T && chunkOf(a) !== chunkOf(b);
}

/** The sliding window's k, or null when the trace is not truncated that way. */
export function slidingK(trace) {
  const tr = trace && trace.truncation;
  return tr && tr.mode === "sliding" ? tr.k : null;
}

/** "chunk 2: t 5–9", or shorter forms when the chunk is narrow on screen (`px` wide). */
export function chunkLabel(j, [a, b], px = Infinity) {
  const steps = b - a > 1 ? `${a}–${b - 1}` : `${a}`;
  const forms = [`chunk ${j + 1}: t ${steps}`, `${j + 1}: t ${steps}`, `${j + 1}`];
  const CHAR_PX = 7.6, PAD = 10;   // a 13 px label
  return forms.find((f) => f.length * CHAR_PX + PAD <= px) || "";
}

/** Plotly shapes outlining each chunk's block on the diagonal of a T×T step matrix. */
export function chunkOutlines(chunks, color) {
  return chunks.map(([a, b]) => ({
    type: "rect", xref: "x", yref: "y", x0: a - 0.5, x1: b - 0.5, y0: a - 0.5, y1: b - 0.5,
    line: { color, width: 3 }, fillcolor: "rgba(0,0,0,0)", layer: "above",
  }));
}
