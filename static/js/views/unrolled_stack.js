// The rest of the stack around the shown cell: every other layer's and direction's row (compact
// cells coloured by ‖h_t‖ from the trace's overview), the wires between the rows (h of layer l at
// t feeds layer l+1 at t; x_t feeds layer 0), the join nodes [h→_t ; h←_t] of a bidirectional
// layer, the row labels (click or Enter: show that row), and in the backward phase the gradient
// arriving at each cell from above (width ∝ log ‖·‖, as the shown row's arrows). The shown row's
// cells are SVG (unrolled.js); every row's wires, the other rows' cells and the joins are painted
// on one canvas (unrolled_canvas.js) from the same shapes — `put(tag, attrs, title)` is either —
// except in a single row, whose few wires stay SVG.
import { svg, fmt } from "../dom.js";
import { UNROLLED as U, SHARED_W_COLOR, GRAD_COLOR } from "../config.js";
import { Y_OUT } from "./unrolled_layout.js";
import { gradWidth } from "./unrolled_parts.js";
import { StackCanvas } from "./unrolled_canvas.js";

const ARROW = { fwd: "→", rev: "←" };
export const rowName = (tr, l, d) =>
  `layer ${l}${(tr.num_layers ?? 1) > 1 && l === tr.num_layers - 1 ? " (top)" : ""}` +
  (tr.bidirectional ? (d ? " ← reverse" : " → forward") : "");

/** The overview's number at [l][d][s], or null. */
const at = (a, l, d, s) => (a && a[l] && a[l][d] ? a[l][d][s] ?? null : null);

/** The width of the stack's gradient arrows, norm -> px: log-scaled from the overview's smallest
 * to its largest ‖dL/dh‖, thinner than the shown row's arrows (many of them, close together). */
export function overviewGradWidth(tr) {
  const obw = tr.overview_backward;
  const all = [];
  if (obw) for (const k of ["dh_in_norm", "dh_next_norm"]) for (const a of obw[k]) for (const b of a) for (const v of b) if (v > 0) all.push(v);
  const glo = all.length ? Math.min(...all) : 1, ghi = all.length ? Math.max(...all) : 1;
  return (n) => U.gradMinWidth + (gradWidth(n, glo, ghi) - U.gradMinWidth) * 0.45;
}

export class StackDrawing {
  /** ctx: {tr, geo, w, cw, left, gradWidth(norm) -> px}. */
  constructor(ctx) {
    Object.assign(this, ctx);
    this.cells = [];    // {g, l, d, s}: one group per cell of every row (the shown row: wires only)
    this.labels = svg("g", { class: "stack-labels" });   // the caller pins them on the left
  }

  cx(s) { return this.left + s * this.w + this.w / 2; }
  cl(s) { return this.cx(s) - this.cw / 2; }

  /** Everything but the shown row's cells: rows, wires, joins, labels. The canvas (null for a
   * single row) goes under the SVG: the caller places it. */
  draw(root) {
    const { tr, geo } = this;
    const T = tr.steps.length, H = tr.hidden_size;
    const ov = tr.overview && tr.overview.h_norm;
    const rms = [];
    if (ov) for (const layer of ov) for (const dir of layer) for (const v of dir) if (v != null) rms.push(v / Math.sqrt(H));
    this.rmsMax = Math.max(1e-9, ...rms);
    const wires = this.wires = svg("g", { class: "wires" });
    root.append(wires);
    this.canvas = geo.rows.length > 1 || geo.dirs === 2
      ? new StackCanvas({ width: this.width, height: geo.height, left: this.left, w: this.w, T }) : null;
    for (const row of geo.rows) {
      for (let s = 0; s < T; s++) {
        if (row.shown && !this.canvas) {   // (a single row: its few wires stay SVG)
          const g = svg("g", { class: "rowcell", "data-layer": row.layer, "data-direction": row.direction, "data-t": s });
          this.wiresInto((tag, a, title) => g.append(node(tag, a, title)), row, s);
          wires.append(g);
          this.cells.push({ g, l: row.layer, d: row.direction, s });
          continue;
        }
        const x0 = this.left + s * this.w;
        // (the shown row's hit box is for its wires' tooltips: its cells are SVG, over the canvas)
        const pad = row.shown ? 16 : 6;
        const put = this.canvas.cell(row.layer, row.direction, s, [x0, row.y - pad, x0 + this.w, row.y + row.h + pad]);
        if (row.shown) this.canvas.cells[this.canvas.cells.length - 1].shown = true;
        this.wiresInto(put, row, s);
        if (!row.shown) this.smallCell(put, row, s, ov);
        const c = this.canvas.cells[this.canvas.cells.length - 1];
        this.cells.push({ canvas: c, l: row.layer, d: row.direction, s });
      }
    }
    if (geo.dirs === 2) this.joinNodes();
    this.rowLabels();
  }

  /** A compact cell: its box coloured by ‖h_t‖/√H, its recurrent arrow and gradient arrow. */
  smallCell(put, row, s, ov) {
    const { tr, w, cw } = this, T = tr.steps.length, rev = row.direction === 1;
    const cl = this.cl(s), y = row.y, mid = row.yMid;
    const norm = at(ov, row.layer, row.direction, s);
    const u = norm == null ? 0 : norm / Math.sqrt(tr.hidden_size) / this.rmsMax;
    // recurrent: from the previous cell in this direction's time (the left one, or the right one)
    const first = rev ? s === T - 1 : s === 0;
    const from = rev ? cl + cw + (first ? 14 : w - cw) : cl - (first ? 14 : w - cw);
    const to = rev ? cl + cw + 2 : cl - 2;
    put("line", { class: `mrec ${rev ? "rev" : "fwd"}`, x1: from, y1: mid, x2: to, y2: mid,
      stroke: SHARED_W_COLOR, "marker-end": "url(#ah-ws)" });
    if (first) {
      put("text", { class: "mzero", x: rev ? from + 3 : from - 3, y: mid + 4,
        "text-anchor": rev ? "start" : "end", text: "0" });
    }
    put("rect", { class: "mini", x: cl, y, width: cw, height: row.h, rx: 5 });
    put("rect", { class: "mini-fill", x: cl + 2, y: y + 2, width: cw - 4, height: row.h - 4, rx: 4,
      "fill-opacity": (0.08 + 0.85 * Math.min(1, u)).toFixed(3) });
    // BPTT: the part of dL/dh that this cell sends to its previous step (none before the first)
    const prev = rev ? s + 1 : s - 1;
    const back = tr.overview_backward && prev >= 0 && prev < T
      ? at(tr.overview_backward.dh_next_norm, row.layer, row.direction, prev) : null;
    if (back != null && back > 0) {
      const gx1 = rev ? cl + cw - 2 : cl + 2, gx2 = rev ? cl + w - 2 : cl - (w - cw) + 4;
      put("line", { class: "mgrad", x1: gx1, y1: mid + 7, x2: gx2, y2: mid + 7, stroke: GRAD_COLOR,
        "stroke-width": this.gradWidth(back), "marker-end": "url(#ah-g)" },
      `‖dL/dh_${prev}‖ from step ${s} through W_hh = ${fmt(back, 4)}`);
    }
    const dh = at(tr.overview_backward && tr.overview_backward.dh_norm, row.layer, row.direction, s);
    put("title", { class: "cell-title" }, `${rowName(tr, row.layer, row.direction)}, step ${s}: ‖h_${s}‖ = ${fmt(norm, 3)}` +
      (dh != null ? `, ‖dL/dh_${s}‖ = ${fmt(dh, 4)}` : "") + ` (click to show this ${tr.bidirectional ? "row" : "layer"})`);
  }

  /** The wires into a cell from below (x_t or the layer below) and out of it upwards, with the
   * gradient coming down the wire out of it (dL/dh from above: dh_in). */
  wiresInto(put, row, s) {
    const { tr, geo } = this;
    const cx = this.cx(s), cl = this.cl(s), cw = this.cw;
    const { layer: l, direction: d } = row;
    const bi = geo.dirs === 2;
    const top = l === geo.L - 1;
    const bottom = row.y + row.h;
    // narrow steps (long sentences) have no room to go round a cell: the wire passes behind it
    const detour = this.w >= 80;
    // into the cell from below: layer 0 reads x_t; a layer above a bidirectional one its join
    if (l === 0 || bi) {
      const src = l === 0 ? geo.yTok - 4 : geo.joins[l - 1];
      const below = geo.row(l, 0);
      const d0 = d === 0 || !bi ? `M${cx},${src} V${bottom + 2}`
        : !detour ? `M${cx - 5},${src} V${bottom + 2}`
        // the reverse row sits above the forward one: the wire goes round its left side
        : `M${cx - 10},${src} V${below.y + below.h + 6} H${cl - 7} V${bottom + 6} H${cx - 4} V${bottom + 2}`;
      put("path", { class: "io in", d: d0, fill: "none", "marker-end": "url(#ah-n)" });
      // BPTT: down from this layer into the join below, dL/d[h→;h←] of the layer below (both
      // directions of this layer send it: drawn once, on the straight wire)
      const ob = tr.overview_backward;
      const down = l > 0 && d === 0 && ob
        ? Math.hypot(at(ob.dh_in_norm, l - 1, 0, s) ?? 0, at(ob.dh_in_norm, l - 1, 1, s) ?? 0) : 0;
      if (down > 0) {
        put("path", { class: "gin", d: `M${cx + 7},${bottom + 2} V${src - 2}`, fill: "none",
          stroke: GRAD_COLOR, "stroke-width": this.gradWidth(down), "marker-end": "url(#ah-g)" },
        `gradient from layer ${l} into [h→_${s} ; h←_${s}] of layer ${l - 1}: ‖·‖ = ${fmt(down, 4)}`);
      }
    }
    // out of the cell, upwards: to the join above, to the next layer, or to the output
    const hasOut = !!(tr.steps[s].top && tr.steps[s].top.length) || tr.steps[s].output != null;
    let dest = null;
    if (bi) dest = geo.joins[l] + geo.joinH;
    else if (!top) { const up = geo.row(l + 1, 0); dest = up.y + up.h; }
    else if (hasOut) dest = Y_OUT;
    if (dest == null) return;
    const upper = bi ? geo.row(l, 1) : null;
    const path = bi && d === 0
      // the forward row sits below the reverse one: its wire goes round the right side
      ? (detour ? `M${cx + 10},${row.y} V${row.y - 6} H${cl + cw + 7} V${upper.y - 6} H${cx + 4} V${dest + 2}`
        : `M${cx + 5},${row.y} V${dest + 2}`)
      : `M${cx},${row.y} V${dest + 2}`;
    put("path", { class: `io up${top && !bi ? " out" : ""}`, d: path, fill: "none",
      "marker-end": "url(#ah-n)" });
    // BPTT: the gradient from above (the head, the layer above or the join) into this cell
    const dIn = at(tr.overview_backward && tr.overview_backward.dh_in_norm, l, d, s);
    if (dIn != null && dIn > 0) {
      const gx = bi && d === 0 && detour ? cl + cw + 12 : cx + (bi && d === 0 ? 9 : 7);
      const d1 = bi && d === 0 && detour
        ? `M${cx + 4},${dest + 2} V${upper.y - 10} H${gx} V${row.y - 10} H${cx + 16} V${row.y - 2}`
        : `M${gx},${dest + 2} V${row.y - 3}`;
      put("path", { class: "gin", d: d1, fill: "none", stroke: GRAD_COLOR,
        "stroke-width": this.gradWidth(dIn), "marker-end": "url(#ah-g)" },
      `gradient into ${rowName(tr, l, d)} at step ${s} from ` +
        `${top ? "the output" : "the layer above"}: ‖·‖ = ${fmt(dIn, 4)}`);
    }
  }

  /** Above each bidirectional layer: [h→_t ; h←_t], what the layer above (or the head) reads. */
  joinNodes() {
    const { tr, geo, w } = this, T = tr.steps.length;
    const wide = w >= 100;
    for (let l = 0; l < geo.L; l++) {
      const y = geo.joins[l], top = l === geo.L - 1;
      for (let s = 0; s < T; s++) {
        const cx = this.cx(s), jw = wide ? 76 : 14;
        const box = [cx - jw / 2, wide ? y : y + 2, jw, wide ? geo.joinH : geo.joinH - 4];
        const put = this.canvas.cell(l, -1, s, [box[0] - 2, box[1] - 2, box[0] + box[2] + 2, box[1] + box[3] + 2]);
        this.canvas.cells[this.canvas.cells.length - 1].join = true;
        // the top join feeds the output (where the step has one); the others feed the layer above
        // (those wires are the layer above's, wiresInto)
        if (top && (tr.steps[s].top || tr.steps[s].output)) {
          put("path", { class: "io up out", d: `M${cx},${y} V${Y_OUT + 2}`, fill: "none", "marker-end": "url(#ah-n)" });
        }
        put("rect", { class: "join-box", x: box[0], y: box[1], width: box[2], height: box[3], rx: 7 });
        if (wide) put("text", { class: "join-text", x: cx, y: y + 14, "text-anchor": "middle", text: `[h→${sub(s)};h←${sub(s)}]` });
        put("title", { class: "join-title" }, `step ${s}: [h→_${s} ; h←_${s}] of layer ${l}, both directions side by side: ` +
          (top ? "what the output reads" : `the input of layer ${l + 1}`));
      }
      this.labels.append(svg("text", { class: "join-label", x: 8, y: y + 14 }, `[h→ₜ;h←ₜ] → ${top ? "y_t" : `layer ${l + 1}`}`));
    }
  }

  /** Row labels: buttons (click, Enter or Space) that show a row in the cell view and below. */
  rowLabels() {
    const { tr, geo } = this, g = this.labels;
    if (geo.rows.length < 2) return;
    for (const row of geo.rows) {
      const name = `layer ${row.layer} ${tr.bidirectional ? (row.direction ? ARROW.rev : ARROW.fwd) : ""}`.trim();
      const b = svg("g", { class: row.shown ? "row-button shown" : "row-button", tabindex: 0, role: "button",
        "data-layer": row.layer, "data-direction": row.direction, "aria-pressed": String(row.shown),
        "aria-label": `Show ${rowName(tr, row.layer, row.direction)}` });
      b.append(svg("rect", { x: 4, y: row.yMid - 13, width: 84, height: 26, rx: 6 }),
        svg("text", { x: 46, y: row.yMid + 5, "text-anchor": "middle" }, name),
        svg("title", {}, row.shown ? `${rowName(tr, row.layer, row.direction)}: shown in the cell view, the equations and the heatmaps`
          : `Show ${rowName(tr, row.layer, row.direction)} in the cell view, the equations and the heatmaps`));
      g.append(b);
    }
  }
}

const SUB = "₀₁₂₃₄₅₆₇₈₉";
const sub = (n) => String(n).split("").map((c) => SUB[c]).join("");

/** An SVG element with its tooltip (the shown row's wires). */
function node(tag, attrs, title) {
  const n = svg(tag, attrs);
  if (title) n.append(svg("title", {}, title));
  return n;
}
