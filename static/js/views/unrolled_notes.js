// The lines of notes under the unrolled network (views/unrolled.js): what its colours and arrows
// mean for this trace's cell, direction, truncation, stack and setup.
import { svg } from "../dom.js";
import { chunksOf } from "./truncation.js";

export const NOTE_LINE = 17;     // px a line

/** The notes for a trace, one string a line (the third is the truncation's, when truncated). */
export function notes(trace) {
  const isLstm = trace.cell === "lstm", chunks = chunksOf(trace);
  const lines = [
    "Same W_hh at every step (purple arrows)." + (isLstm ? " Green arrows: the cell state c_t." : "") +
      (trace.direction === 1 ? " Reverse direction: its state flows right to left, from h_T = 0 (see the equations)." : "") +
      (trace.jordan ? " Jordan: the cell also reads the previous output y_{t−1} (dashed arrows)." : ""),
    "Squares in a cell: h_t, one per unit (blue −, orange +). Orange arrows: dL/dh_t, width ∝ log‖dL/dh_t‖.",
  ];
  if (trace.truncation) {
    const { k } = trace.truncation;
    lines.push(chunks
      ? `Truncated BPTT in chunks of k = ${k} (dashed lines): the state is carried into the next chunk ` +
        "(dashed arrow), its gradient stopped (detached, ✕)."
      : `Truncated BPTT, sliding window: each loss's gradient reaches k = ${k} steps back, then stops ` +
        "(the bracket above). No chunks.");
  }
  const L = trace.num_layers ?? 1;
  if (L > 1 || trace.bidirectional) {
    lines.push(`Rows: ${L > 1 ? `layer 0 (bottom) to ${L - 1} (top); h of layer l at t feeds layer l+1 at t` : "one layer"}` +
      (trace.bidirectional ? "; each layer reads forward (→) and in reverse (←), joined as [h→_t ; h←_t]." : "."),
    "Click a row's button (or Tab to it, Enter) to look inside it; the other rows' cells are coloured by ‖h_t‖ (darker = larger).");
  }
  if (trace.setup === "one-to-many") lines.push("One-to-many: one input at step 0, then zero vectors (0) as the input; an output at every step.");
  if (trace.setup === "many-to-one") lines.push("Many-to-one: the output and the loss at the last step only; the gradient enters there alone and flows back.");
  if (trace.setup === "one-to-one") lines.push("One-to-one: one input, one output: a single column, no recurrence.");
  return lines;
}

/** The notes as SVG text, a line each from y = top down (the truncation's line has its class). */
export function noteTexts(lines, truncated, top) {
  return lines.map((text, i) => svg("text", { class: i === 2 && truncated ? "note trunc-note" : "note",
    x: 8, y: top + 12 + NOTE_LINE * i }, text));
}
