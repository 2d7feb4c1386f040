// The unrolled network as SVG, drawn as it is computed: one row per layer and direction (layer 0
// at the bottom, unrolled_layout.js), x_t below, y_t above. The shown cell's row (the trace's
// layer and direction) has one cell per timestep with its units, h (and c) flowing along its
// direction, dL/dh flowing back in the backward pass; the other rows come from the trace's
// overview (unrolled_stack.js). update() builds the drawing once per trace; render() only
// toggles the classes of the cells whose state changed and moves the cursor, so playback stays
// cheap. The shown row's columns are unrolled_row.js; the frame around the rows (arrow heads,
// row labels, the initial state) unrolled_frame.js; the cursor and the unit marker
// unrolled_cursor.js; the notes under it unrolled_notes.js; the truncation band (chunk dividers,
// the sliding window) unrolled_truncation.js; the SVG pieces (arrow heads, token boxes, the loss
// as a sum) unrolled_parts.js.
import { svg, el, clear, boxWidth } from "../dom.js";
import { UNROLLED as U } from "../config.js";
import { chunksOf, slidingK } from "./truncation.js";
import { layout, computed, CELL_H } from "./unrolled_layout.js";
import { StackDrawing, overviewGradWidth } from "./unrolled_stack.js";
import { gradWidth, ledgerText, lossSum } from "./unrolled_parts.js";
import { StepCursor } from "./unrolled_cursor.js";
import { arrowDefs, rowLabels, initialState } from "./unrolled_frame.js";
import { ShownRow } from "./unrolled_row.js";
import { notes, noteTexts, NOTE_LINE } from "./unrolled_notes.js";
import { chunkDividers, drawWindow, TRUNC_BAND } from "./unrolled_truncation.js";

export { gradWidth, lossSum };

const LEFT_PLAIN = 96, LEFT_STACKED = 160;  // room for h_0 = 0 (and a stack's row buttons)

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
    const geo = layout(trace);
    this.geo = geo;
    const row = geo.shown;
    const right = trace.bidirectional ? 84 : 24;
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
    const chunks = chunksOf(trace), windowK = slidingK(trace);
    const starts = new Set((chunks || []).map(([a]) => a).filter((a) => a > 0));
    const band = trace.truncation ? TRUNC_BAND : 0;
    const lines = notes(trace);
    const fullH = band + geo.height + NOTE_LINE * lines.length + 4;   // + a line per note
    const what = stacked ? ` (${L} layer${L > 1 ? "s" : ""}${trace.bidirectional ? ", bidirectional" : ""})` : "";
    const svgRoot = svg("svg", { class: `unrolled ${w < 80 ? "narrow " : ""}setup-${trace.setup}${stacked ? " stacked" : ""}`,
      width, height: fullH, viewBox: `0 0 ${width} ${fullH}`, role: "img",
      "data-rows": geo.rows.length, "aria-label": `${trace.cell.toUpperCase()}${what} unrolled over ${T} steps` });
    svgRoot.append(arrowDefs());
    // The network sits below the truncation band; everything else is drawn in its coordinates.
    const root = svg("g", { class: "network", transform: `translate(0 ${band})` });
    svgRoot.append(root);
    this.cursor = new StepCursor(stacked, { w, height: geo.height, band });
    if (!stacked) root.append(this.cursor.box);

    // Row labels and the zero initial state (a reverse row starts on the right, from h_T = 0).
    const labels = rowLabels(geo);
    const init = initialState(trace, { left: LEFT, w, row });
    root.append(init.g);
    this.drawStack(root, cw);
    // The labels on the left stay in view while the network scrolls sideways (pin()).
    this.pinned = svg("g", { class: "pinned" });
    this.pinned.append(svg("rect", { class: "pin-bg", x: 0, y: 0, width: LEFT - 8, height: geo.height }),
      labels, this.stack.labels);
    this.cellState = this.stack.cells.map(() => "");

    const shown = this.shownRow = new ShownRow({ tr: trace, geo, w, cw, left: LEFT, initX: init.x, starts });
    this.cols = shown.draw(root);
    // Under the network: the carried arrows cross the dividers on top of them.
    if (chunks) svgRoot.insertBefore(chunkDividers(chunks, { left: LEFT, w, width, height: geo.height, band }), root);
    this.windowK = windowK;
    this.window = windowK ? svg("g", { class: "trunc-window" }) : null;
    if (this.window) svgRoot.append(this.window);

    root.append(...noteTexts(lines, trace.truncation, geo.height));
    root.append(...(stacked ? [] : [this.cursor.marker]), this.pinned);
    this.mount(svgRoot, stacked, band);
    this.restoreFocus();
    this.revealShownRow();
    const { gridCols, gridRows } = shown;
    this.geometry = { cw, gridCols, gridRows, gwid: (cw - 8) / gridCols, ghei: (CELL_H - 8) / gridRows };
    this.render();
  }

  /** The other rows, the wires between the rows, the joins and the row buttons (unrolled_stack.js). */
  drawStack(root, cw) {
    const trace = this.trace, { geo, w, left, width } = this;
    this.stack = new StackDrawing({ tr: trace, geo, w, cw, left, width, gradWidth: overviewGradWidth(trace) });
    this.stack.draw(root);
    // (the exported SVG shows the canvas as an image here, under everything: images.js)
    if (this.stack.canvas) {
      this.stack.canvas.canvas.id = "unrolled-stack-canvas";
      root.insertBefore(svg("image", { class: "stack-raster", "data-raster": "unrolled-stack-canvas", x: 0, y: 0,
        width, height: geo.height, visibility: "hidden" }), root.firstChild);
    }
  }

  /** Put the new drawing in the box (with the stack's canvas under it, the cursor and the
   * marker over it). */
  mount(svgRoot, stacked, band) {
    clear(this.container).append(svgRoot);
    if (stacked) this.container.append(this.cursor.box, this.cursor.marker);
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
  }

  /** The new drawing's button for the row the keyboard chose takes the focus. */
  restoreFocus() {
    if (!this.refocus) return;
    const { layer, direction } = this.refocus, trace = this.trace;
    const b = this.svgRoot.querySelector(`.row-button[data-layer="${layer}"][data-direction="${direction}"]`);
    if (b && trace.layer === Number(layer) && trace.direction === Number(direction)) {
      b.focus({ preventScroll: true });
      this.refocus = null;
    }
  }

  /** Where the drawing scrolls vertically (the embed), bring the shown row into view. In the
   * next frame, with the frame's own layout: reading it now would lay the new drawing out twice. */
  revealShownRow() {
    const box = this.container, drawn = this.svgRoot, band = this.band, row = this.geo.shown;
    requestAnimationFrame(() => {
      if (this.svgRoot !== drawn) return;
      this.pin();
      if (box.scrollHeight > box.clientHeight + 1) {
        const want = band + row.y - (box.clientHeight - CELL_H) / 2;
        box.scrollTop = Math.max(0, Math.min(want, box.scrollHeight - box.clientHeight));
      }
    });
  }

  /** The backward half of the trace on screen arrived: its gradients join the drawing without
   * building it again (a stack's thousands of nodes, laid out anew): the shown row's arrows and
   * bars get their widths, the stack its canvas (and wires) drawn with them. */
  complete(trace) {
    if (trace !== this.trace || !this.shownRow) { this.update(trace); return; }
    this.shownRow.fill(trace);
    // the other rows and the wires drawn again with their gradients: a new canvas (and, in a
    // single row, new SVG wires) in place of the old; the row buttons and the rest stay
    const old = this.stack;
    this.drawStack(svg("g"), this.shownRow.cw);
    old.wires.replaceWith(this.stack.wires);
    if (old.canvas) {
      this.stack.canvas.canvas.style.top = old.canvas.canvas.style.top;
      old.canvas.canvas.replaceWith(this.stack.canvas.canvas);
      this.fullPaint = true;
    }
    this.cellState = this.stack.cells.map(() => "");
    this.render();
  }

  /** Sliding window: the steps the current step's loss reaches, k back (forward in a reverse direction). */
  renderWindow() {
    if (!this.window) return;
    drawWindow(this.window, this.trace, this.state.t, this.windowK, { left: this.left, w: this.w, width: this.width });
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
    this.cursor.moveTo(this.left + t * this.w, back);
    const { cw, gridCols, gwid, ghei } = this.geometry;
    if (unit < tr.hidden_size && t < T) {
      const cl = this.left + t * this.w + this.w / 2 - cw / 2;
      const mx = cl + 4 + (unit % gridCols) * gwid - 1, my = this.geo.shown.y + 4 + Math.floor(unit / gridCols) * ghei - 1;
      this.cursor.mark(mx, my, gwid + 1.4, ghei + 1.4);
    }
    this.renderWindow();
    this.renderLedger();
    this.scrollIntoView();
  }

  renderLedger() {
    if (this.ledger) this.ledger.textContent = ledgerText(this.trace, this.state.t, this.state.phase);
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
