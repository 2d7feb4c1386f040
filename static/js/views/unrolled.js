// The unrolled network as SVG: one cell per timestep, x_t below, y_t above, h (and c) flowing right,
// dL/dh flowing left in the backward pass. update() builds the drawing once per trace; render()
// only toggles classes and moves the cursor, so playback stays cheap.
import { svg, el, clear, fmt, showToken } from "../dom.js";
import { diverging } from "../colors.js";
import { UNROLLED as U, SHARED_W_COLOR, GRAD_COLOR, CELL_STATE_COLOR } from "../config.js";
import { chunksOf, slidingK, chunkLabel } from "./truncation.js";

const LEFT = 96;                 // room for h_0 = 0 and the row labels
const Y_PRED = 24, Y_LOSS = 44, Y_OUT = 58;
const Y_CELL = 100, CELL_H = 72;
const Y_C = Y_CELL + 16, Y_H = Y_CELL + CELL_H - 16;
const Y_TOK = 236, Y_BAR = 296, BAR_H = 24;
const TRUNC_BAND = 30;           // above the network when truncated: chunk labels, or the window
const CARRIED = "h carried, gradient stopped (detached)";

function arrowHead(id, color, size = 11) {
  // userSpaceOnUse: a thick gradient arrow keeps a normal-sized head
  const m = svg("marker", { id, viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: size, markerHeight: size,
    orient: "auto-start-reverse", markerUnits: "userSpaceOnUse" });
  m.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: color }));
  return m;
}

/** A gridCols × gridRows bitmap (one pixel per hidden unit, a 1-pixel gap drawn by scaling). */
function unitBitmap(h, gridCols, gridRows, scale) {
  const px = 4;  // pixels per unit, so the gaps between units stay visible when scaled
  const canvas = document.createElement("canvas");
  canvas.width = gridCols * px;
  canvas.height = gridRows * px;
  const ctx = canvas.getContext("2d");
  h.forEach((v, k) => {
    ctx.fillStyle = diverging(v, scale);
    ctx.fillRect((k % gridCols) * px, Math.floor(k / gridCols) * px, px - 0.5, px - 0.5);
  });
  return canvas.toDataURL();
}

/** Log-scaled width so that gradients spanning many orders of magnitude all stay visible. */
export function gradWidth(norm, lo, hi) {
  if (!(norm > 0)) return U.gradMinWidth;
  const a = Math.log10(lo), b = Math.log10(hi);
  const u = b > a ? (Math.log10(norm) - a) / (b - a) : 1;
  return U.gradMinWidth + Math.max(0, Math.min(1, u)) * (U.gradMaxWidth - U.gradMinWidth);
}

export class UnrolledView {
  constructor(container, state, { ledger = null } = {}) {
    this.container = container;
    this.state = state;
    this.ledger = ledger;
    this.trace = null;
    this.cols = [];
    container.addEventListener("click", (ev) => {
      const col = ev.target.closest("[data-t]");
      if (!col) return;
      const patch = { t: Number(col.dataset.t) };
      if (ev.target.dataset && ev.target.dataset.units) {
        const unit = this.unitAt(ev.target, ev);
        if (unit != null) patch.unit = unit;
      }
      state.set(patch);
    });
  }

  /** prepare + draw the whole trace. */
  update(trace) {
    this.trace = trace;
    const T = trace.steps.length;
    const H = trace.hidden_size;
    // Fit the sentence on screen when possible; long sentences scroll horizontally.
    const avail = (this.container.clientWidth || 1200) - LEFT - 24;
    const w = Math.max(U.minStepWidth, Math.min(U.stepWidth, Math.floor(avail / Math.max(1, T))));
    this.w = w;
    const cw = Math.max(30, w * U.cellWidthRatio);
    const width = Math.max(LEFT + T * w + 24, avail + LEFT + 24);
    this.width = width;
    const isLstm = trace.cell === "lstm";
    const chunks = chunksOf(trace), windowK = slidingK(trace);
    const starts = new Set((chunks || []).map(([a]) => a).filter((a) => a > 0));
    const band = trace.truncation ? TRUNC_BAND : 0;
    const fullH = band + U.height + 34 + (band ? 17 : 0);   // + two lines of notes (three if truncated)
    const svgRoot = svg("svg", { class: w < 80 ? "unrolled narrow" : "unrolled", width, height: fullH,
      viewBox: `0 0 ${width} ${fullH}`, role: "img",
      "aria-label": `${trace.cell.toUpperCase()} unrolled over ${T} steps` });
    const defs = svg("defs");
    defs.append(arrowHead("ah-w", SHARED_W_COLOR), arrowHead("ah-c", CELL_STATE_COLOR),
      arrowHead("ah-g", GRAD_COLOR, 14), arrowHead("ah-n", "currentColor"));
    svgRoot.append(defs);
    // The network sits below the truncation band; everything else is drawn in its coordinates.
    const root = svg("g", { class: "network", transform: `translate(0 ${band})` });
    svgRoot.append(root);

    this.cursor = svg("rect", { class: "cursor", x: 0, y: 4, width: w, height: U.height - 8, rx: 8 });
    root.append(this.cursor);

    // Row labels and the zero initial state.
    const labels = svg("g", { class: "row-labels" });
    labels.append(svg("text", { x: 8, y: Y_PRED + 4 }, "y_t (top)"),
      svg("text", { x: 8, y: Y_LOSS + 4 }, "loss L_t"),
      svg("text", { x: 8, y: Y_TOK + 20 }, "x_t"),
      svg("text", { x: 8, y: Y_BAR - 6 }, "+ΔW_hh"));
    const h0 = svg("g", { class: "h0" });
    h0.append(svg("rect", { x: 20, y: Y_H - 14, width: 58, height: 26, rx: 5 }),
      svg("text", { x: 49, y: Y_H + 5, "text-anchor": "middle" }, "h₋₁ = 0"),
      // Steps count from 0 here (as the chips do), so the zero initial state is h₋₁.
      svg("text", { class: "init-label", x: 49, y: (isLstm ? Y_C : Y_H) - 20, "text-anchor": "middle" }, "initial state"),
      svg("title", {}, "The initial state is all zeros (h₀ = 0 in books that count steps from 1)."));
    if (isLstm) {
      h0.append(svg("rect", { x: 20, y: Y_C - 14, width: 58, height: 26, rx: 5 }),
        svg("text", { x: 49, y: Y_C + 5, "text-anchor": "middle" }, "c₋₁ = 0"));
    }
    root.append(labels, h0);

    const ys = [], bars = [];
    const norms = trace.backward.filter(Boolean).map((b) => b.dh_norm).filter((n) => n > 0);
    const lo = norms.length ? Math.min(...norms) : 1, hi = norms.length ? Math.max(...norms) : 1;
    const maxContrib = Math.max(1e-12, ...trace.backward.filter(Boolean)
      .map((b) => b.contrib_norms.weight_hh ?? 0));
    const scale = isLstm || trace.cell === "gru" ? 1 : Math.max(1, ...trace.steps.map((s) => Math.max(...s.h.map(Math.abs))));
    const gridCols = H <= 16 ? H : Math.ceil(H / Math.ceil(H / 16));
    const gridRows = Math.ceil(H / gridCols);

    this.cols = trace.steps.map((step, t) => {
      const x0 = LEFT + t * w, cx = x0 + w / 2, cl = cx - cw / 2;
      const g = svg("g", { class: "step", "data-t": t });
      // recurrent arrows from the previous step (or h_0) into this cell: the same W_hh each time
      const fromX = t === 0 ? 78 : cl - (w - cw);
      // At a chunk start the state is carried in but detached: drawn dashed, with a tooltip.
      const carried = starts.has(t);
      const rec = svg("line", { class: carried ? "rec h carried" : "rec h", x1: fromX, y1: Y_H, x2: cl - 2, y2: Y_H,
        stroke: SHARED_W_COLOR, "marker-end": "url(#ah-w)" });
      if (carried) rec.append(svg("title", {}, CARRIED));
      g.append(rec);
      if (w >= 80 || t % 5 === 0) {
        g.append(svg("text", { class: "wlabel", x: (fromX + cl) / 2, y: Y_H + 31, "text-anchor": "middle",
          fill: SHARED_W_COLOR }, "W_hh"));
      }
      if (isLstm) {
        const recC = svg("line", { class: carried ? "rec c carried" : "rec c", x1: fromX, y1: Y_C, x2: cl - 2, y2: Y_C,
          stroke: CELL_STATE_COLOR, "marker-end": "url(#ah-c)" });
        if (carried) recC.append(svg("title", {}, "c carried, gradient stopped (detached)"));
        g.append(recC);
      }
      if (carried) {
        // A wide invisible target, so the tooltip is easy to find on the thin dashed arrows.
        const hit = svg("rect", { class: "carry-hit", x: fromX, y: (isLstm ? Y_C : Y_H) - 12,
          width: Math.max(8, cl - fromX), height: (isLstm ? Y_H - Y_C : 0) + 24 });
        hit.append(svg("title", {}, isLstm ? "h and c carried, gradient stopped (detached)" : CARRIED));
        g.append(hit);
      }
      // gradient flowing left out of this step into the previous one: width ~ log ||dL/dh_t||
      // (none crosses a chunk boundary: the state entering a chunk is detached)
      const b = trace.backward[t];
      const gw = b && !carried ? gradWidth(b.dh_norm, lo, hi) : 0;
      const grad = svg("line", { class: "grad", x1: cl + 2, y1: Y_H + 9, x2: fromX + 4, y2: Y_H + 9,
        stroke: GRAD_COLOR, "stroke-width": gw, "marker-end": carried ? null : "url(#ah-g)" });
      grad.append(svg("title", {}, carried ? `no gradient from step ${t} into step ${t - 1}: a chunk boundary`
        : b ? `‖dL/dh_${t}‖ = ${fmt(b.dh_norm, 4)}` : "not computed"));
      g.append(grad);
      if (carried) {
        const stop = svg("text", { class: "grad-stop", x: LEFT + t * w, y: Y_H + 15, "text-anchor": "middle" }, "✕");
        stop.append(svg("title", {}, `Gradient stopped: nothing flows back from step ${t} into step ${t - 1} ` +
          "(the state entering this chunk was detached)."));
        g.append(stop);
      }
      // the cell: a small grid of its hidden units coloured by h_t
      const cell = svg("g", { class: "cell" });
      cell.append(svg("rect", { class: "cell-box", x: cl, y: Y_CELL, width: cw, height: CELL_H, rx: 8 }));
      const pad = 4, gwid = (cw - 2 * pad) / gridCols, ghei = (CELL_H - 2 * pad) / gridRows;
      // One small bitmap per cell instead of H rects: T = 100, H = 64 would be 6,400 SVG nodes
      // to repaint while playing. Clicks find the unit from the position (unitAt).
      const units = svg("image", { class: "units", x: cl + pad, y: Y_CELL + pad, width: cw - 2 * pad,
        height: CELL_H - 2 * pad, preserveAspectRatio: "none", href: unitBitmap(step.h, gridCols, gridRows, scale),
        "data-units": "1" });
      cell.append(units);
      cell.append(svg("title", {}, `step ${t}: h_${t}, one square per unit (click to select the step and the unit)`));
      g.append(cell);
      // input x_t from below
      g.append(svg("line", { class: "io", x1: cx, y1: Y_TOK - 4, x2: cx, y2: Y_CELL + CELL_H + 2,
        "marker-end": "url(#ah-n)" }));
      const tokW = Math.min(w - 4, Math.max(Math.min(cw, 40), 10 * [...showToken(step.token)].length + 12));
      g.append(svg("rect", { class: "tok-box", x: cx - tokW / 2, y: Y_TOK, width: tokW, height: 28, rx: 5 }));
      g.append(svg("text", { class: "tok", x: cx, y: Y_TOK + 20, "text-anchor": "middle" },
        showToken(step.token)));
      // output y_t above; in the backward pass an orange arrow brings dL_t/dy_t down
      const hasOut = !!(step.top && step.top.length);
      if (hasOut) {
        g.append(svg("line", { class: "io out", x1: cx, y1: Y_CELL - 2, x2: cx, y2: Y_OUT, "marker-end": "url(#ah-n)" }));
      }
      if (step.loss != null) g.append(svg("line", { class: "grad-in", x1: cx + 6, y1: Y_OUT, x2: cx + 6, y2: Y_CELL - 4,
        stroke: GRAD_COLOR, "stroke-width": 2.5, "marker-end": "url(#ah-g)" }));
      const top = step.top && step.top[0];
      const pred = svg("text", { class: "pred", x: cx, y: Y_PRED + 4, "text-anchor": "middle" },
        top ? showToken(top.token ?? String(top.index)) : "");
      pred.append(svg("title", {}, top ? `top prediction p = ${fmt(top.p, 2)}` : "no output at this step"));
      g.append(pred);
      g.append(svg("text", { class: "loss", x: cx, y: Y_LOSS + 4, "text-anchor": "middle" },
        step.loss == null ? "" : fmt(step.loss, 2)));
      // this step's contribution to dW_hh (backward pass)
      const c = b ? (b.contrib_norms.weight_hh ?? 0) / maxContrib : 0;
      const bar = svg("rect", { class: "contrib", x: cx - cw / 4, y: Y_BAR - BAR_H * c, width: cw / 2,
        height: Math.max(1, BAR_H * c), fill: GRAD_COLOR });
      bar.append(svg("title", {}, b ? `‖step ${t}'s contribution to dW_hh‖ = ${fmt(b.contrib_norms.weight_hh, 4)}` : ""));
      g.append(bar);
      ys.push(pred);
      bars.push(bar);
      root.append(g);
      return g;
    });
    // Under the network: the carried arrows cross the dividers on top of them.
    if (chunks) svgRoot.insertBefore(this.chunkDividers(chunks, w, band), root);
    this.windowK = windowK;
    this.window = windowK ? svg("g", { class: "trunc-window" }) : null;
    if (this.window) svgRoot.append(this.window);

    root.append(
      svg("text", { class: "note", x: 8, y: U.height + 12 },
        "Same W_hh at every step (purple arrows)." + (isLstm ? " Green arrows: the cell state c_t." : "") +
        // The drawing is in reading order; say so rather than show a reverse state flowing right.
        (trace.direction === 1 ? " Reverse direction: its state really flows right to left, from h_T = 0 (see the equations)." : "")),
      svg("text", { class: "note", x: 8, y: U.height + 29 },
        "Squares in a cell: h_t, one per unit (blue −, orange +). Orange arrows: dL/dh_t, width ∝ log‖dL/dh_t‖."));
    if (trace.truncation) {
      const { k } = trace.truncation;
      root.append(svg("text", { class: "note trunc-note", x: 8, y: U.height + 46 }, chunks
        ? `Truncated BPTT in chunks of k = ${k} (dashed lines): the state is carried into the next chunk ` +
          "(dashed arrow), its gradient stopped (detached, ✕)."
        : `Truncated BPTT, sliding window: each loss's gradient reaches k = ${k} steps back, then stops ` +
          "(the bracket above). No chunks."));
    }
    this.marker = svg("rect", { class: "unit-marker", width: 0, height: 0 });
    root.append(this.marker);
    clear(this.container).append(svgRoot);
    this.geometry = { cw, gridCols, gridRows, gwid: (cw - 8) / gridCols, ghei: (CELL_H - 8) / gridRows };
    this.render();
  }

  /** A labelled bracket over each chunk and a divider at each boundary (svg coordinates). */
  chunkDividers(chunks, w, band) {
    const g = svg("g", { class: "chunks" });
    chunks.forEach(([a, b], j) => {
      const x0 = LEFT + a * w, x1 = LEFT + b * w, full = chunkLabel(j, [a, b]);
      const head = svg("g", { class: "chunk", "data-chunk": j });
      head.append(svg("title", {}, `${full}: forward and backward within these steps`),
        // (the last chunk's label may use the margin on the right)
        svg("text", { class: "chunk-label", x: x0 + 5, y: 15 },
          chunkLabel(j, [a, b], j === chunks.length - 1 ? this.width - x0 : x1 - x0)),
        svg("path", { class: "chunk-bracket", d: `M${x0 + 3},${band - 2} v-5 H${x1 - 3} v5` }));
      g.append(head);
      if (a > 0) {
        const line = svg("line", { class: "chunk-divider", x1: x0, x2: x0, y1: 2, y2: band + U.height - 6,
          "data-boundary": a });
        line.append(svg("title", {}, `Chunk boundary before step ${a}: ${CARRIED}`));
        g.append(line);
      }
    });
    return g;
  }

  /** Sliding window: the steps the current step's loss reaches, k back (forward in a reverse direction). */
  renderWindow() {
    const tr = this.trace, k = this.windowK, { t } = this.state;
    if (!this.window) return;
    const T = tr.steps.length, reverse = tr.direction === 1;
    const a = reverse ? t : Math.max(0, t - k + 1), b = reverse ? Math.min(T - 1, t + k - 1) : t;
    const x0 = LEFT + a * this.w + 3, x1 = LEFT + (b + 1) * this.w - 3;
    const text = `L_${t}'s gradient reaches ${reverse ? "forward" : "back"} to step ${reverse ? b : a} (k = ${k})`;
    // The label ends over the current step (starts, in a reverse direction), inside the drawing.
    const px = text.length * 7.6, want = reverse ? x0 + 2 : x1 - 2 - px;
    clear(this.window).append(
      svg("text", { class: "chunk-label", x: Math.max(4, Math.min(this.width - px - 4, want)), y: 15 }, text),
      svg("path", { class: "chunk-bracket", d: `M${x0},${TRUNC_BAND - 2} v-5 H${x1} v5` }));
    this.window.dataset.from = String(a);
    this.window.dataset.to = String(b);
  }

  /** No trace: an empty network, and why, where the network was. */
  reset(reason) {
    this.trace = null;
    this.cols = [];
    this.window = null;
    clear(this.container).append(el("p", { class: "hint empty-trace" },
      reason ? `Nothing to show: ${reason}` : "Type a sentence to unroll the network."));
    if (this.ledger) this.ledger.textContent = "";
  }

  /** Which hidden unit of a cell's bitmap was clicked. */
  unitAt(image, ev) {
    const box = image.getBoundingClientRect();
    const { gridCols, gridRows } = this.geometry;
    const col = Math.floor(((ev.clientX - box.left) / box.width) * gridCols);
    const row = Math.floor(((ev.clientY - box.top) / box.height) * gridRows);
    const k = row * gridCols + col;
    return k >= 0 && k < this.trace.hidden_size && col < gridCols ? k : null;
  }

  /** Per-step render: only classes, the cursor and the unit marker change. */
  render() {
    const tr = this.trace;
    if (!tr) return;
    const { t, phase, unit } = this.state;
    const T = tr.steps.length;
    const back = phase === "backward";
    this.cols.forEach((g, s) => {
      g.classList.toggle("future", !back && s > t);
      g.classList.toggle("current", s === t);
      g.classList.toggle("grad-on", back && s >= t && !!tr.backward[s]);
    });
    this.cursor.setAttribute("x", LEFT + t * this.w);
    this.cursor.classList.toggle("backward", back);
    const { cw, gridCols, gwid, ghei } = this.geometry;
    if (unit < tr.hidden_size && t < T) {
      const cl = LEFT + t * this.w + this.w / 2 - cw / 2;
      this.marker.setAttribute("x", cl + 4 + (unit % gridCols) * gwid - 1);
      this.marker.setAttribute("y", Y_CELL + 4 + Math.floor(unit / gridCols) * ghei - 1);
      this.marker.setAttribute("width", gwid + 1.4);
      this.marker.setAttribute("height", ghei + 1.4);
    }
    this.renderWindow();
    this.renderLedger();
    this.scrollIntoView();
  }

  renderLedger() {
    if (!this.ledger) return;
    const tr = this.trace, { t, phase } = this.state;
    if (phase === "forward") {
      const sum = tr.steps.slice(0, t + 1).reduce((a, s) => a + (s.loss ?? 0), 0);
      this.ledger.textContent = `Forward · Σ L so far (steps 0…${t}) = ${fmt(sum, 3)}`;
    } else {
      const b = tr.backward[t];
      this.ledger.textContent = b
        ? `Backward · L = Σ L_t = ${fmt(tr.loss, 3)} · step ${t} adds ‖ΔW_hh‖ = ${fmt(b.contrib_norms.weight_hh, 3)}` +
          ` · running ‖Σ dW_hh‖ = ${fmt(b.dW_hh_running_norm, 3)}`
        : "Backward · computing BPTT for the typed characters…";
    }
  }

  /** Keep the current step in view; done in the next frame so it never forces an extra layout. */
  scrollIntoView() {
    if (this.scrollPending) return;
    this.scrollPending = true;
    requestAnimationFrame(() => {
      this.scrollPending = false;
      this.scrollNow();
    });
  }

  scrollNow() {
    if (!this.trace) return;
    const box = this.container;
    const x = LEFT + this.state.t * this.w;
    if (x < box.scrollLeft + LEFT || x + this.w > box.scrollLeft + box.clientWidth) {
      box.scrollLeft = Math.max(0, x - box.clientWidth / 2);
    }
  }
}
