// The frame of the unrolled network's drawing (views/unrolled.js), around its rows: the arrow
// heads every arrow refers to, the labels of the rows on the left (y_t, L_t, x_t, +ΔW_hh) and the
// zero initial state the shown row starts from.
import { svg } from "../dom.js";
import { SHARED_W_COLOR, GRAD_COLOR, CELL_STATE_COLOR } from "../config.js";
import { Y_PRED, Y_LOSS } from "./unrolled_layout.js";
import { arrowHead, subscript } from "./unrolled_parts.js";

export const INIT_W = 58;        // the initial state's box

/** <defs>: the arrow heads, by id (ah-w: W_hh, ah-c: the cell state, ah-g: a gradient, …). */
export function arrowDefs() {
  const defs = svg("defs");
  defs.append(arrowHead("ah-w", SHARED_W_COLOR), arrowHead("ah-c", CELL_STATE_COLOR),
    arrowHead("ah-g", GRAD_COLOR, 14), arrowHead("ah-n", "currentColor"), arrowHead("ah-ws", SHARED_W_COLOR, 8),
    arrowHead("ah-y", "currentColor", 9),
    // (the recurrent arrows dimmed once their gradient is in: main.css, by stroke-opacity)
    arrowHead("ah-w-dim", SHARED_W_COLOR, 11, 0.35), arrowHead("ah-c-dim", CELL_STATE_COLOR, 11, 0.35));
  return defs;
}

/** The names of the rows that are not cells, at the left edge (geo: unrolled_layout.js). */
export function rowLabels(geo) {
  const labels = svg("g", { class: "row-labels" });
  labels.append(svg("text", { x: 8, y: Y_PRED + 4 }, "y_t (top)"),
    svg("text", { x: 8, y: Y_LOSS + 4 }, "loss L_t"),
    svg("text", { x: 8, y: geo.yTok + 20 }, "x_t"),
    svg("text", { x: 8, y: geo.yBar - 6 }, "+ΔW_hh"));
  return labels;
}

/** The zero initial state of the shown row (h, and c in an LSTM): left of step 0, or right of
 * the last step in a reverse row, which starts from h_T = 0. Returns {g, x: its box's left}. */
export function initialState(trace, { left, w, row }) {
  const T = trace.steps.length, reverse = trace.direction === 1, isLstm = trace.cell === "lstm";
  const h0 = svg("g", { class: "h0" });
  const initX = reverse ? left + T * w + 4 : left - 76, initName = reverse ? `h${subscript(T)}` : "h₋₁";
  const initY = row.yH - 14;
  h0.append(svg("rect", { x: initX, y: initY, width: INIT_W, height: 26, rx: 5 }),
    svg("text", { x: initX + 29, y: initY + 19, "text-anchor": "middle" }, `${initName} = 0`),
    // Steps count from 0 here (as the chips do), so the zero initial state is h₋₁.
    svg("text", { class: "init-label", x: initX + 29, y: (isLstm ? row.yC : row.yH) - 20,
      "text-anchor": "middle" }, "initial state"),
    svg("title", {}, reverse ? `The reverse direction starts after the last step, from the zero state ${initName}.`
      : "The initial state is all zeros (h₀ = 0 in books that count steps from 1)."));
  if (isLstm) {
    h0.append(svg("rect", { x: initX, y: row.yC - 14, width: INIT_W, height: 26, rx: 5 }),
      svg("text", { x: initX + 29, y: row.yC + 5, "text-anchor": "middle" }, `${reverse ? `c${subscript(T)}` : "c₋₁"} = 0`));
  }
  return { g: h0, x: initX };
}
