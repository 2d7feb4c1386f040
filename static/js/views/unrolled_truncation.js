// Truncated BPTT in the unrolled network (views/unrolled.js): the band above the network with a
// labelled bracket over each chunk and a divider at each boundary, or, in a sliding window, the
// bracket over the steps the current step's loss reaches. What the chunks are is truncation.js.
import { svg, clear } from "../dom.js";
import { chunkLabel } from "./truncation.js";

export const TRUNC_BAND = 30;    // above the network when truncated: chunk labels, or the window
export const CARRIED = "h carried, gradient stopped (detached)";

/** A labelled bracket over each chunk and a divider at each boundary (svg coordinates): chunks
 * [[start, end), ...], the drawing's left margin, step width, total width and network height. */
export function chunkDividers(chunks, { left, w, width, height, band }) {
  const g = svg("g", { class: "chunks" });
  chunks.forEach(([a, b], j) => {
    const x0 = left + a * w, x1 = left + b * w, full = chunkLabel(j, [a, b]);
    const head = svg("g", { class: "chunk", "data-chunk": j });
    head.append(svg("title", {}, `${full}: forward and backward within these steps`),
      // (the last chunk's label may use the margin on the right)
      svg("text", { class: "chunk-label", x: x0 + 5, y: 15 },
        chunkLabel(j, [a, b], j === chunks.length - 1 ? width - x0 : x1 - x0)),
      svg("path", { class: "chunk-bracket", d: `M${x0 + 3},${band - 2} v-5 H${x1 - 3} v5` }));
    g.append(head);
    if (a > 0) {
      const line = svg("line", { class: "chunk-divider", x1: x0, x2: x0, y1: 2, y2: band + height - 6,
        "data-boundary": a });
      line.append(svg("title", {}, `Chunk boundary before step ${a}: ${CARRIED}`));
      g.append(line);
    }
  });
  return g;
}

/** Sliding window: redraw `g` (the .trunc-window group) as the bracket over the steps step t's
 * loss reaches, k back (forward in a reverse direction); data-from / data-to are its ends. */
export function drawWindow(g, tr, t, k, { left, w, width }) {
  const T = tr.steps.length, reverse = tr.direction === 1;
  const a = reverse ? t : Math.max(0, t - k + 1), b = reverse ? Math.min(T - 1, t + k - 1) : t;
  const x0 = left + a * w + 3, x1 = left + (b + 1) * w - 3;
  const text = `L_${t}'s gradient reaches ${reverse ? "forward" : "back"} to step ${reverse ? b : a} (k = ${k})`;
  // The label ends over the current step (starts, in a reverse direction), inside the drawing.
  const px = text.length * 7.6, want = reverse ? x0 + 2 : x1 - 2 - px;
  clear(g).append(
    svg("text", { class: "chunk-label", x: Math.max(4, Math.min(width - px - 4, want)), y: 15 }, text),
    svg("path", { class: "chunk-bracket", d: `M${x0},${TRUNC_BAND - 2} v-5 H${x1} v5` }));
  g.dataset.from = String(a);
  g.dataset.to = String(b);
}
