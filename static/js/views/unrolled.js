// The unrolled network as SVG, drawn as it is computed: one row per layer and direction (layer 0
// at the bottom, unrolled_layout.js), x_t below, y_t above. The shown cell's row (the trace's
// layer and direction) has one cell per timestep with its units, h (and c) flowing along its
// direction, dL/dh flowing back in the backward pass; the other rows come from the trace's
// overview (unrolled_stack.js). update() builds the drawing once per trace; render() only
// toggles the classes of the cells whose state changed and moves the cursor, so playback stays
// cheap. Its SVG pieces (arrow heads, token boxes, the loss as a sum) are unrolled_parts.js.
import { svg, el, clear, fmt, showToken, boxWidth } from "../dom.js";
import { UNROLLED as U, SHARED_W_COLOR, GRAD_COLOR, CELL_STATE_COLOR } from "../config.js";
import { chunksOf, slidingK, chunkLabel } from "./truncation.js";
import { layout, computed, Y_PRED, Y_LOSS, CELL_H } from "./unrolled_layout.js";
import { StackDrawing } from "./unrolled_stack.js";
import { arrowHead, gradWidth, jordanArrow, lossSum, subscript, tokenBox, unitSprite } from "./unrolled_parts.js";

export { gradWidth, lossSum };

const LEFT_PLAIN = 96, LEFT_STACKED = 160;  // room for h_0 = 0 (and a stack's row buttons)
const BAR_H = 24;
const TRUNC_BAND = 30;           // above the network when truncated: chunk labels, or the window
const CARRIED = "h carried, gradient stopped (detached)";

export class UnrolledView {
  constructor(container, state, { ledger = null } = {}) {
    this.container = container;
    this.state = state;
    this.ledger = ledger;
    this.trace = null;
    this.cols = [];
    container.addEventListener("scroll", () => this.pin(), { passive: true });
    container.addEventListener("click", (ev) => {
      if (this.selectRow(ev.target) || this.selectCell(ev)) return;
      const col = ev.target.closest("[data-t]");
      if (!col) return;
      const patch = { t: Number(col.dataset.t) };
      if (ev.target.dataset && ev.target.dataset.units) {
        const unit = this.unitAt(ev.target, ev);
        if (unit != null) patch.unit = unit;
      }
      state.set(patch);
    });
    // A compact cell (painted on the stack's canvas) has its tooltip and pointer from its position.
    container.addEventListener("mousemove", (ev) => this.hover(ev), { passive: true });
    // The canvas takes its colours from the theme.
    state.addEventListener("change", (e) => { if (e.detail.changed.includes("theme")) this.repaintStack(); });
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => this.repaintStack());
    // The row buttons are keyboard buttons too (Tab to one, Enter or Space); Space must not
    // also start the player.
    container.addEventListener("keydown", (ev) => {
      if ((ev.key !== "Enter" && ev.key !== " ") || !ev.target.closest(".row-button")) return;
      ev.preventDefault();
      ev.stopPropagation();
      const b = ev.target.closest(".row-button");
      this.refocus = { layer: b.dataset.layer, direction: b.dataset.direction };
      this.selectRow(b);
    });
  }

  /** Keep the row labels at the left edge of the scrolled view. */
  pin() {
    if (!this.pinned) return;
    const x = this.container.scrollLeft;
    this.pinned.setAttribute("transform", `translate(${x} 0)`);
    this.pinned.classList.toggle("scrolled", x > 0);
  }

  /** A row label: show that layer and direction. */
  selectRow(target) {
    const node = target.closest(".row-button");
    if (!node || !this.trace) return false;
    this.show(Number(node.dataset.layer), Number(node.dataset.direction), null);
    return true;
  }

  /** A compact cell of another row (on the canvas): show that row at that step. */
  selectCell(ev) {
    const c = this.canvasCellAt(ev);
    if (!c || c.join || c.shown) return false;
    this.show(c.l, c.d, c.s);
    return true;
  }

  show(layer, direction, t) {
    const tr = this.trace, patch = {};
    if (layer !== tr.layer || direction !== tr.direction) Object.assign(patch, { layer, direction });
    if (t != null) patch.t = t;
    this.state.set(patch);
  }

  /** The canvas cell under the pointer (not under a part of the SVG that has its own meaning). */
  canvasCellAt(ev) {
    const cv = this.stack && this.stack.canvas;
    if (!cv || !this.trace || (ev.target.closest && ev.target.closest(".step, .row-button, .pinned"))) return null;
    const box = this.svgRoot.getBoundingClientRect();
    return cv.cellAt(ev.clientX - box.left, ev.clientY - box.top - this.band);
  }

  hover(ev) {
    const c = this.canvasCellAt(ev);
    const tip = c ? this.stack.canvas.titleOf(c) : "";
    if (this.container.title !== tip) this.container.title = tip;
    const pointer = !!c && !c.join && !c.shown;
    if (pointer !== this.pointer) {
      this.pointer = pointer;
      this.container.style.cursor = pointer ? "pointer" : "";
    }
  }

  /** The theme changed: repaint the canvas in the next frame (once the page has applied it). */
  repaintStack() {
    requestAnimationFrame(() => {
      if (this.stack && this.stack.canvas && this.stack.canvas.canvas.isConnected) this.stack.canvas.paintAll();
    });
  }

  measure() {
    this.measured = this.container.clientWidth;
  }

  /** prepare + draw the whole trace. */
  update(trace) {
    this.trace = trace;
    const T = trace.steps.length;
    const H = trace.hidden_size;
    const geo = layout(trace);
    this.geo = geo;
    const row = geo.shown, Y_CELL = row.y, Y_C = row.yC, Y_H = row.yH, Y_TOK = geo.yTok, Y_BAR = geo.yBar;
    const reverse = trace.direction === 1, right = trace.bidirectional ? 84 : 24;
    const L = trace.num_layers ?? 1, stacked = L > 1 || trace.bidirectional;
    const LEFT = stacked ? LEFT_STACKED : LEFT_PLAIN;
    this.left = LEFT;
    // Fit the sentence on screen when possible; long sentences scroll horizontally.
    const avail = (boxWidth(this) || 1200) - LEFT - right;
    const w = Math.max(U.minStepWidth, Math.min(U.stepWidth, Math.floor(avail / Math.max(1, T))));
    this.w = w;
    const cw = Math.max(30, w * U.cellWidthRatio);
    const width = Math.max(LEFT + T * w + right, avail + LEFT + right);
    this.width = width;
    const isLstm = trace.cell === "lstm";
    const chunks = chunksOf(trace), windowK = slidingK(trace);
    const starts = new Set((chunks || []).map(([a]) => a).filter((a) => a > 0));
    const band = trace.truncation ? TRUNC_BAND : 0;
    const notes = this.notes(trace);
    const fullH = band + geo.height + 17 * notes.length + 4;   // + a line per note
    const what = stacked ? ` (${L} layer${L > 1 ? "s" : ""}${trace.bidirectional ? ", bidirectional" : ""})` : "";
    const svgRoot = svg("svg", { class: `unrolled ${w < 80 ? "narrow " : ""}setup-${trace.setup}${stacked ? " stacked" : ""}`,
      width, height: fullH, viewBox: `0 0 ${width} ${fullH}`, role: "img",
      "data-rows": geo.rows.length, "aria-label": `${trace.cell.toUpperCase()}${what} unrolled over ${T} steps` });
    const defs = svg("defs");
    defs.append(arrowHead("ah-w", SHARED_W_COLOR), arrowHead("ah-c", CELL_STATE_COLOR),
      arrowHead("ah-g", GRAD_COLOR, 14), arrowHead("ah-n", "currentColor"), arrowHead("ah-ws", SHARED_W_COLOR, 8),
      arrowHead("ah-y", "currentColor", 9),
      // (the recurrent arrows dimmed once their gradient is in: main.css, by stroke-opacity)
      arrowHead("ah-w-dim", SHARED_W_COLOR, 11, 0.35), arrowHead("ah-c-dim", CELL_STATE_COLOR, 11, 0.35));
    svgRoot.append(defs);
    // The network sits below the truncation band; everything else is drawn in its coordinates.
    const root = svg("g", { class: "network", transform: `translate(0 ${band})` });
    svgRoot.append(root);

    // A stack is thousands of SVG nodes, and moving anything inside an SVG lays the whole of it
    // out again: there the cursor and the unit marker are HTML boxes over the drawing, moved by
    // a transform (the drawing is at its own size, never scaled).
    this.overlay = stacked;
    this.cursor = stacked ? el("div", { class: "unrolled-cursor" })
      : svg("rect", { class: "cursor", x: 0, y: 4, width: w, height: geo.height - 8, rx: 8 });
    if (stacked) Object.assign(this.cursor.style, { top: `${band + 4}px`, width: `${w}px`, height: `${geo.height - 8}px` });
    else root.append(this.cursor);

    // Row labels and the zero initial state (a reverse row starts on the right, from h_T = 0).
    const labels = svg("g", { class: "row-labels" });
    labels.append(svg("text", { x: 8, y: Y_PRED + 4 }, "y_t (top)"),
      svg("text", { x: 8, y: Y_LOSS + 4 }, "loss L_t"),
      svg("text", { x: 8, y: Y_TOK + 20 }, "x_t"),
      svg("text", { x: 8, y: Y_BAR - 6 }, "+ΔW_hh"));
    const h0 = svg("g", { class: "h0" });
    const initX = reverse ? LEFT + T * w + 4 : LEFT - 76, initName = reverse ? `h${subscript(T)}` : "h₋₁";
    const initY = Y_H - 14;
    h0.append(svg("rect", { x: initX, y: initY, width: 58, height: 26, rx: 5 }),
      svg("text", { x: initX + 29, y: initY + 19, "text-anchor": "middle" }, `${initName} = 0`),
      // Steps count from 0 here (as the chips do), so the zero initial state is h₋₁.
      svg("text", { class: "init-label", x: initX + 29, y: (isLstm ? Y_C : Y_H) - 20,
        "text-anchor": "middle" }, "initial state"),
      svg("title", {}, reverse ? `The reverse direction starts after the last step, from the zero state ${initName}.`
        : "The initial state is all zeros (h₀ = 0 in books that count steps from 1)."));
    if (isLstm) {
      h0.append(svg("rect", { x: initX, y: Y_C - 14, width: 58, height: 26, rx: 5 }),
        svg("text", { x: initX + 29, y: Y_C + 5, "text-anchor": "middle" }, `${reverse ? `c${subscript(T)}` : "c₋₁"} = 0`));
    }
    root.append(h0);
    // The other rows, the wires between the rows, the joins and the row buttons.
    const obw = trace.overview_backward;
    const all = [];
    if (obw) for (const k of ["dh_in_norm", "dh_next_norm"]) for (const a of obw[k]) for (const b of a) for (const v of b) if (v > 0) all.push(v);
    const glo = all.length ? Math.min(...all) : 1, ghi = all.length ? Math.max(...all) : 1;
    // (thinner than the shown row's arrows: many of them, close together)
    const thin = (n) => U.gradMinWidth + (gradWidth(n, glo, ghi) - U.gradMinWidth) * 0.45;
    this.stack = new StackDrawing({ tr: trace, geo, w, cw, left: LEFT, width, gradWidth: thin });
    this.stack.draw(root);
    // (the exported SVG shows the canvas as an image here, under everything: images.js)
    if (this.stack.canvas) {
      this.stack.canvas.canvas.id = "unrolled-stack-canvas";
      root.insertBefore(svg("image", { class: "stack-raster", "data-raster": "unrolled-stack-canvas", x: 0, y: 0,
        width, height: geo.height, visibility: "hidden" }), root.firstChild);
    }
    // The labels on the left stay in view while the network scrolls sideways (pin()).
    this.pinned = svg("g", { class: "pinned" });
    this.pinned.append(svg("rect", { class: "pin-bg", x: 0, y: 0, width: LEFT - 8, height: geo.height }),
      labels, this.stack.labels);
    this.cellState = this.stack.cells.map(() => "");

    const ys = [], bars = [];
    const norms = trace.backward.filter(Boolean).map((b) => b.dh_norm).filter((n) => n > 0);
    const lo = norms.length ? Math.min(...norms) : 1, hi = norms.length ? Math.max(...norms) : 1;
    const maxContrib = Math.max(1e-12, ...trace.backward.filter(Boolean)
      .map((b) => b.contrib_norms.weight_hh ?? 0));
    const scale = isLstm || trace.cell === "gru" ? 1 : Math.max(1, ...trace.steps.map((s) => Math.max(...s.h.map(Math.abs))));
    const gridCols = H <= 16 ? H : Math.ceil(H / Math.ceil(H / 16));
    const gridRows = Math.ceil(H / gridCols);

    const sprite = unitSprite(trace.steps, gridCols, gridRows, scale);
    this.cols = trace.steps.map((step, t) => {
      const x0 = LEFT + t * w, cx = x0 + w / 2, cl = cx - cw / 2;
      const g = svg("g", { class: "step", "data-t": t, "data-layer": trace.layer, "data-direction": trace.direction });
      // recurrent arrows from the previous step (or h_0) into this cell: the same W_hh each time;
      // a reverse row's previous step is the one on the right
      const first = reverse ? t === T - 1 : t === 0;
      const fromX = reverse ? (first ? initX : cl + cw + (w - cw)) : first ? initX + 58 : cl - (w - cw);
      const intoX = reverse ? cl + cw + 2 : cl - 2;
      // At a chunk start the state is carried in but detached: drawn dashed, with a tooltip.
      const carried = reverse ? starts.has(t + 1) : starts.has(t);
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
      // gradient flowing left out of this step into the previous one: width ~ log ||dL/dh_t||
      // (none crosses a chunk boundary: the state entering a chunk is detached)
      // (a reverse row's gradient flows right, into step t+1, where its state came from)
      const b = trace.backward[t];
      const gw = b && !carried ? gradWidth(b.dh_norm, lo, hi) : 0;
      const prevT = reverse ? t + 1 : t - 1;
      const grad = svg("line", { class: "grad", x1: reverse ? cl + cw - 2 : cl + 2, y1: Y_H + 9,
        x2: reverse ? fromX - 4 : fromX + 4, y2: Y_H + 9,
        stroke: GRAD_COLOR, "stroke-width": gw, "marker-end": carried ? null : "url(#ah-g)" });   // (into h₋₁: dstate)
      grad.append(svg("title", {}, carried ? `no gradient from step ${t} into step ${prevT}: a chunk boundary`
        : b ? `‖dL/dh_${t}‖ = ${fmt(b.dh_norm, 4)}` : "not computed"));
      g.append(grad);
      if (carried) {
        const stop = svg("text", { class: "grad-stop", x: LEFT + (reverse ? t + 1 : t) * w, y: Y_H + 15,
          "text-anchor": "middle" }, "✕");
        stop.append(svg("title", {}, `Gradient stopped: nothing flows back from step ${t} into step ${prevT} ` +
          "(the state entering this chunk was detached)."));
        g.append(stop);
      }
      if (trace.jordan) g.append(jordanArrow(t, cx, w, cl, Y_CELL));
      // the cell: a small grid of its hidden units coloured by h_t
      const cell = svg("g", { class: "cell" });
      cell.append(svg("rect", { class: "cell-box", x: cl, y: Y_CELL, width: cw, height: CELL_H, rx: 8 }));
      const pad = 4, gwid = (cw - 2 * pad) / gridCols, ghei = (CELL_H - 2 * pad) / gridRows;
      // A tile of one bitmap instead of H rects: T = 100, H = 64 would be 6,400 SVG nodes to
      // repaint while playing. Clicks find the unit from the position (unitAt).
      const units = svg("svg", { class: "units", x: cl + pad, y: Y_CELL + pad, width: cw - 2 * pad,
        height: CELL_H - 2 * pad, viewBox: sprite.tile(t), preserveAspectRatio: "none", "data-units": "1" });
      units.append(svg("image", { href: sprite.href, width: sprite.width, height: sprite.height, "data-units": "1" }));
      cell.append(units);
      cell.append(svg("title", {}, `step ${t}: h_${t}, one square per unit (click to select the step and the unit)`));
      g.append(cell);
      // input x_t from below (the wires into the rows are the stack's); one-to-many feeds zeros
      // after step 0, and a token the model does not know is read as something else
      g.append(tokenBox(trace, step, t, cx, cw, w, Y_TOK));
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

    notes.forEach((text, i) => root.append(svg("text", { class: i === 2 && trace.truncation ? "note trunc-note" : "note",
      x: 8, y: geo.height + 12 + 17 * i }, text)));
    this.marker = stacked ? el("div", { class: "unrolled-marker" }) : svg("rect", { class: "unit-marker", width: 0, height: 0 });
    root.append(...(stacked ? [] : [this.marker]), this.pinned);
    clear(this.container).append(svgRoot);
    if (stacked) this.container.append(this.cursor, this.marker);
    this.svgRoot = svgRoot;
    this.container.title = "";
    const cv = this.stack.canvas;
    if (cv) {
      cv.canvas.style.top = `${band}px`;
      this.container.insertBefore(cv.canvas, svgRoot);
      this.fullPaint = true;   // in render(), once every cell has its state
    }
    this.container.classList.toggle("overlay", stacked);
    this.band = band;
    if (this.refocus) {   // the new drawing's button for the row the keyboard chose
      const { layer, direction } = this.refocus;
      const b = svgRoot.querySelector(`.row-button[data-layer="${layer}"][data-direction="${direction}"]`);
      if (b && trace.layer === Number(layer) && trace.direction === Number(direction)) {
        b.focus({ preventScroll: true });
        this.refocus = null;
      }
    }
    // (where the drawing scrolls vertically, the embed: bring the shown row into view) In the
    // next frame, with the frame's own layout: reading it now would lay the new drawing out twice.
    const box = this.container, drawn = svgRoot;
    requestAnimationFrame(() => {
      if (this.svgRoot !== drawn) return;
      this.pin();
      if (box.scrollHeight > box.clientHeight + 1) {
        const want = band + row.y - (box.clientHeight - CELL_H) / 2;
        box.scrollTop = Math.max(0, Math.min(want, box.scrollHeight - box.clientHeight));
      }
    });
    this.geometry = { cw, gridCols, gridRows, gwid: (cw - 8) / gridCols, ghei: (CELL_H - 8) / gridRows };
    this.render();
  }

  /** The backward half arrived: draw again with its gradients (the drawing is replaced in
   * one task, so the box keeps its scroll position; a focused row button keeps the focus). */
  complete(trace) {
    const b = document.activeElement;
    if (b && b.classList && b.classList.contains("row-button") && this.container.contains(b)) {
      this.refocus = { layer: b.dataset.layer, direction: b.dataset.direction };
    }
    this.update(trace);
  }

  /** The lines of notes under the network. */
  notes(trace) {
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

  /** A labelled bracket over each chunk and a divider at each boundary (svg coordinates). */
  chunkDividers(chunks, w, band) {
    const g = svg("g", { class: "chunks" });
    chunks.forEach(([a, b], j) => {
      const x0 = this.left + a * w, x1 = this.left + b * w, full = chunkLabel(j, [a, b]);
      const head = svg("g", { class: "chunk", "data-chunk": j });
      head.append(svg("title", {}, `${full}: forward and backward within these steps`),
        // (the last chunk's label may use the margin on the right)
        svg("text", { class: "chunk-label", x: x0 + 5, y: 15 },
          chunkLabel(j, [a, b], j === chunks.length - 1 ? this.width - x0 : x1 - x0)),
        svg("path", { class: "chunk-bracket", d: `M${x0 + 3},${band - 2} v-5 H${x1 - 3} v5` }));
      g.append(head);
      if (a > 0) {
        const line = svg("line", { class: "chunk-divider", x1: x0, x2: x0, y1: 2, y2: band + this.geo.height - 6,
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
    const x0 = this.left + a * this.w + 3, x1 = this.left + (b + 1) * this.w - 3;
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
    const box = image.closest("svg.units").getBoundingClientRect();
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
    const L0 = tr.layer, D0 = tr.direction;
    this.cols.forEach((g, s) => {
      g.classList.toggle("future", !back && !computed(tr, L0, D0, s, t, false));
      g.classList.toggle("current", s === t);
      g.classList.toggle("grad-on", back && computed(tr, L0, D0, s, t, true) && !!tr.backward[s]);
    });
    // every row's cells: only those whose state changed are touched (T = 100, 6 rows: 600 cells);
    // the canvas repaints the columns of those that did
    const cells = this.stack.cells, seen = this.cellState, changed = [];
    for (let i = 0; i < cells.length; i++) {
      const { g, canvas, l, d, s } = cells[i];
      const st = back ? (computed(tr, l, d, s, t, true) && tr.overview_backward ? "grad-on" : "")
        : computed(tr, l, d, s, t, false) ? "" : "future";
      if (st === seen[i]) continue;
      if (canvas) {
        canvas.state = st;
        changed.push(canvas);
      } else {
        if (seen[i]) g.classList.remove(seen[i]);
        if (st) g.classList.add(st);
      }
      seen[i] = st;
    }
    if (this.stack.canvas && this.fullPaint) {
      this.fullPaint = false;
      this.stack.canvas.paintAll();
    } else if (this.stack.canvas) this.stack.canvas.repaint(changed);
    if (this.overlay) this.cursor.style.transform = `translateX(${this.left + t * this.w}px)`;
    else this.cursor.setAttribute("x", this.left + t * this.w);
    this.cursor.classList.toggle("backward", back);
    const { cw, gridCols, gwid, ghei } = this.geometry;
    if (unit < tr.hidden_size && t < T) {
      const cl = this.left + t * this.w + this.w / 2 - cw / 2;
      const mx = cl + 4 + (unit % gridCols) * gwid - 1, my = this.geo.shown.y + 4 + Math.floor(unit / gridCols) * ghei - 1;
      if (this.overlay) {
        Object.assign(this.marker.style, { width: `${gwid + 1.4}px`, height: `${ghei + 1.4}px`,
          transform: `translate(${mx}px, ${my + this.band}px)` });
      } else {
        this.marker.setAttribute("x", mx);
        this.marker.setAttribute("y", my);
        this.marker.setAttribute("width", gwid + 1.4);
        this.marker.setAttribute("height", ghei + 1.4);
      }
    }
    this.renderWindow();
    this.renderLedger();
    this.scrollIntoView();
  }

  renderLedger() {
    if (!this.ledger) return;
    const tr = this.trace, { t, phase } = this.state;
    if (phase === "forward") {
      this.ledger.textContent = `Forward · ${lossSum(tr, t)}`;
    } else {
      const b = tr.backward[t];
      this.ledger.textContent = b
        ? `Backward · ${lossSum(tr, tr.steps.length - 1, true)} · step ${t} adds ‖ΔW_hh‖ = ${fmt(b.contrib_norms.weight_hh, 3)}` +
          ` · running ‖Σ dW_hh‖ = ${fmt(b.dW_hh_running_norm, 3)}`
        : tr.backwardPending ? "Backward · computing BPTT…" : "Backward · computing BPTT for the typed characters…";
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
    const x = this.left + this.state.t * this.w;
    if (x < box.scrollLeft + this.left || x + this.w > box.scrollLeft + box.clientWidth) {
      box.scrollLeft = Math.max(0, x - box.clientWidth / 2);
    }
  }
}
