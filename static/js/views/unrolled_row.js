// The shown row of the unrolled network (views/unrolled.js): the trace's layer and direction,
// one column per step — the recurrent arrows into its cell (the same W_hh each time; dashed where
// a truncation chunk starts: the state is carried in, detached), the gradient dL/dh_t flowing
// back out of it (width ∝ log ‖dL/dh_t‖), Jordan's y_{t−1} arrow, the cell with its units, the
// input box, the top prediction, the loss and the step's contribution to dW_hh.
import { svg, fmt, showToken } from "../dom.js";
import { SHARED_W_COLOR, GRAD_COLOR, CELL_STATE_COLOR } from "../config.js";
import { Y_PRED, Y_LOSS, CELL_H } from "./unrolled_layout.js";
import { gradWidth, jordanArrow, tokenBox, unitSprite } from "./unrolled_parts.js";
import { INIT_W } from "./unrolled_frame.js";
import { CARRIED } from "./unrolled_truncation.js";

const BAR_H = 24;                // the tallest dW_hh contribution bar

/** The grid of a cell's units: up to 16 a line, the lines as even as can be. */
export function unitGrid(H) {
  const gridCols = H <= 16 ? H : Math.ceil(H / Math.ceil(H / 16));
  return { gridCols, gridRows: Math.ceil(H / gridCols) };
}

export class ShownRow {
  /** ctx: {tr, geo, w, cw, left, initX (the initial state's box), starts (the chunk starts > 0)}. */
  constructor(ctx) {
    Object.assign(this, ctx);
    const tr = this.tr;
    this.row = this.geo.shown;
    this.reverse = tr.direction === 1;
    this.isLstm = tr.cell === "lstm";
    this.scales(tr);
    this.grads = [];    // per step: {line, title, carried} of the gradient arrow
    this.bars = [];     // per step: {bar, title} of the contribution bar
    // (the units' colours are scaled to |h|)
    const scale = this.isLstm || tr.cell === "gru" ? 1 : Math.max(1, ...tr.steps.map((s) => Math.max(...s.h.map(Math.abs))));
    Object.assign(this, unitGrid(tr.hidden_size));
    this.sprite = unitSprite(tr.steps, this.gridCols, this.gridRows, scale);
  }

  /** The scales the columns share: the gradient arrows' widths from the smallest to the largest
   * ‖dL/dh_t‖, the bars' heights to the largest contribution. */
  scales(tr) {
    const back = tr.backward.filter(Boolean);
    const norms = back.map((b) => b.dh_norm).filter((n) => n > 0);
    this.lo = norms.length ? Math.min(...norms) : 1;
    this.hi = norms.length ? Math.max(...norms) : 1;
    this.maxContrib = Math.max(1e-12, ...back.map((b) => b.contrib_norms.weight_hh ?? 0));
  }

  /** The backward half has arrived (tr, the same trace with it): give the columns drawn
   * without it their gradient arrows and contribution bars. */
  fill(tr) {
    this.tr = tr;
    this.scales(tr);
    this.grads.forEach((g, t) => this.setGradient(g, t, tr.backward[t]));
    this.bars.forEach((bar, t) => this.setContribution(bar, t, tr.backward[t]));
  }

  /** Append every step's column (g.step) to root; returns them, in step order. */
  draw(root) {
    return this.tr.steps.map((step, t) => {
      const g = this.column(step, t);
      root.append(g);
      return g;
    });
  }

  column(step, t) {
    const tr = this.tr, { w, cw } = this;
    const cx = this.left + t * w + w / 2, cl = cx - cw / 2;
    const g = svg("g", { class: "step", "data-t": t, "data-layer": tr.layer, "data-direction": tr.direction });
    const { fromX, carried } = this.recurrence(g, t, cl);
    const b = tr.backward[t];
    this.gradient(g, t, cl, fromX, carried, b);
    if (tr.jordan) g.append(jordanArrow(t, cx, w, cl, this.row.y));
    g.append(this.cell(t, cl));
    // input x_t from below (the wires into the rows are the stack's); one-to-many feeds zeros
    // after step 0, and a token the model does not know is read as something else
    g.append(tokenBox(tr, step, t, cx, cw, w, this.geo.yTok));
    g.append(...this.outputs(step, cx));
    g.append(this.contribution(b, t, cx));
    return g;
  }

  /** The recurrent arrows from the previous step (or the initial state) into step t's cell: the
   * same W_hh each time; a reverse row's previous step is the one on the right. At a chunk start
   * the state is carried in but detached: drawn dashed, with a tooltip. */
  recurrence(g, t, cl) {
    const T = this.tr.steps.length, { w, cw, reverse, isLstm, initX } = this;
    const Y_H = this.row.yH, Y_C = this.row.yC;
    const first = reverse ? t === T - 1 : t === 0;
    const fromX = reverse ? (first ? initX : cl + cw + (w - cw)) : first ? initX + INIT_W : cl - (w - cw);
    const intoX = reverse ? cl + cw + 2 : cl - 2;
    const carried = reverse ? this.starts.has(t + 1) : this.starts.has(t);
    const rec = svg("line", { class: `rec h ${reverse ? "rev" : "fwd"}${carried ? " carried" : ""}`,
      x1: fromX, y1: Y_H, x2: intoX, y2: Y_H,
      stroke: SHARED_W_COLOR, "marker-end": "url(#ah-w)" });
    if (carried) rec.append(svg("title", {}, CARRIED));
    g.append(rec);
    if (w >= 80 || t % 5 === 0) {
      g.append(svg("text", { class: "wlabel", x: (fromX + intoX) / 2, y: Y_H + 31, "text-anchor": "middle",
        fill: SHARED_W_COLOR }, "W_hh"));
    }
    if (isLstm) {
      const recC = svg("line", { class: carried ? "rec c carried" : "rec c", x1: fromX, y1: Y_C, x2: intoX, y2: Y_C,
        stroke: CELL_STATE_COLOR, "marker-end": "url(#ah-c)" });
      if (carried) recC.append(svg("title", {}, "c carried, gradient stopped (detached)"));
      g.append(recC);
    }
    if (carried) {
      // A wide invisible target, so the tooltip is easy to find on the thin dashed arrows.
      const hit = svg("rect", { class: "carry-hit", x: Math.min(fromX, intoX), y: (isLstm ? Y_C : Y_H) - 12,
        width: Math.max(8, Math.abs(intoX - fromX)), height: (isLstm ? Y_H - Y_C : 0) + 24 });
      hit.append(svg("title", {}, isLstm ? "h and c carried, gradient stopped (detached)" : CARRIED));
      g.append(hit);
    }
    return { fromX, carried };
  }

  /** The gradient flowing out of step t into the previous one (left; right in a reverse row,
   * into step t+1, where its state came from): width ~ log ‖dL/dh_t‖. None crosses a chunk
   * boundary (the state entering a chunk is detached): a ✕ there instead. */
  gradient(g, t, cl, fromX, carried, b) {
    const { cw, reverse } = this, Y_H = this.row.yH;
    const prevT = reverse ? t + 1 : t - 1;
    const line = svg("line", { class: "grad", x1: reverse ? cl + cw - 2 : cl + 2, y1: Y_H + 9,
      x2: reverse ? fromX - 4 : fromX + 4, y2: Y_H + 9,
      stroke: GRAD_COLOR, "marker-end": carried ? null : "url(#ah-g)" });   // (into h₋₁: dstate)
    const title = svg("title");
    line.append(title);
    const grad = { line, title, carried, prevT };
    this.setGradient(grad, t, b);
    this.grads.push(grad);
    g.append(line);
    if (carried) {
      const stop = svg("text", { class: "grad-stop", x: this.left + (reverse ? t + 1 : t) * this.w, y: Y_H + 15,
        "text-anchor": "middle" }, "✕");
      stop.append(svg("title", {}, `Gradient stopped: nothing flows back from step ${t} into step ${prevT} ` +
        "(the state entering this chunk was detached)."));
      g.append(stop);
    }
  }

  setGradient({ line, title, carried, prevT }, t, b) {
    line.setAttribute("stroke-width", b && !carried ? gradWidth(b.dh_norm, this.lo, this.hi) : 0);
    title.textContent = carried ? `no gradient from step ${t} into step ${prevT}: a chunk boundary`
      : b ? `‖dL/dh_${t}‖ = ${fmt(b.dh_norm, 4)}` : "not computed";
  }

  /** The cell: a small grid of its hidden units coloured by h_t. A tile of one bitmap instead of
   * H rects: T = 100, H = 64 would be 6,400 SVG nodes to repaint while playing. Clicks find the
   * unit from the position (UnrolledView.unitAt). */
  cell(t, cl) {
    const { cw, sprite } = this, Y_CELL = this.row.y, pad = 4;
    const cell = svg("g", { class: "cell" });
    cell.append(svg("rect", { class: "cell-box", x: cl, y: Y_CELL, width: cw, height: CELL_H, rx: 8 }));
    const units = svg("svg", { class: "units", x: cl + pad, y: Y_CELL + pad, width: cw - 2 * pad,
      height: CELL_H - 2 * pad, viewBox: sprite.tile(t), preserveAspectRatio: "none", "data-units": "1" });
    units.append(svg("image", { href: sprite.href, width: sprite.width, height: sprite.height, "data-units": "1" }));
    cell.append(units);
    cell.append(svg("title", {}, `step ${t}: h_${t}, one square per unit (click to select the step and the unit)`));
    return cell;
  }

  /** On top: the top prediction y_t, and the step's loss L_t. */
  outputs(step, cx) {
    const top = step.top && step.top[0];
    const pred = svg("text", { class: "pred", x: cx, y: Y_PRED + 4, "text-anchor": "middle" },
      top ? showToken(top.token ?? String(top.index)) : "");
    pred.append(svg("title", {}, top ? `top prediction p = ${fmt(top.p, 2)}` : "no output at this step"));
    const loss = svg("text", { class: "loss", x: cx, y: Y_LOSS + 4, "text-anchor": "middle" },
      step.loss == null ? "" : fmt(step.loss, 2));
    return [pred, loss];
  }

  /** At the bottom: this step's contribution to dW_hh (backward pass), as a bar. */
  contribution(b, t, cx) {
    const cw = this.cw;
    const bar = svg("rect", { class: "contrib", x: cx - cw / 4, width: cw / 2, fill: GRAD_COLOR });
    const title = svg("title");
    bar.append(title);
    this.setContribution({ bar, title }, t, b);
    this.bars.push({ bar, title });
    return bar;
  }

  setContribution({ bar, title }, t, b) {
    const c = b ? (b.contrib_norms.weight_hh ?? 0) / this.maxContrib : 0;
    bar.setAttribute("y", this.geo.yBar - BAR_H * c);
    bar.setAttribute("height", Math.max(1, BAR_H * c));
    title.textContent = b ? `‖step ${t}'s contribution to dW_hh‖ = ${fmt(b.contrib_norms.weight_hh, 4)}` : "";
  }
}
