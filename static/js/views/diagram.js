// The cell diagram: the selected layer and direction's cell drawn as in colah's "Understanding
// LSTM Networks", every wire carrying this step's value of the selected unit (and a bar of the
// whole vector); in the backward phase the same wires carry the gradients, each with its
// chain-rule factor. A dot runs along the wires when the step changes (not with reduced motion).
// Geometry: diagram_layouts.js; the numbers: diagram_values.js. Text goes in as textContent.
import { svg, el, clear, fmt, showToken } from "../dom.js";
import { W, H as VH, layoutFor } from "./diagram_layouts.js";
import { wireValues, inputValue, names } from "./diagram_values.js";

const BADGE_H = { forward: 62, backward: 82 };
const SPARK_H = 16;
const UNIT_GATES = new Set(["f", "i", "o", "r", "z", "omz"]);   // values in [0, 1]

/** Badge width from its longest line (viewBox units; the fonts are set in diagram.css). */
const badgeWidth = (name, value, factor) =>
  Math.max(112, 8.9 * name.length + 18, 14 * value.length + 18, 9.2 * (factor || "").length + 18);

export class DiagramView {
  constructor(container, state, { compact = false } = {}) {
    this.container = container;
    this.state = state;
    this.compact = compact;
    this.trace = null;
    this.shownT = null;
    this.shownPhase = null;
  }

  isVisible() {
    return !this.container.closest("[hidden]");
  }

  reset(reason = "") {
    this.trace = null;
    clear(this.container).append(el("p", { class: "hint" }, reason || "No sentence traced yet."));
  }

  update(trace) {
    this.trace = trace;
    this.build();
    this.render();
  }

  /** Draw the cell's wires, operations and boxes once per trace; render() only writes numbers. */
  build() {
    const tr = this.trace;
    const lay = layoutFor(tr);
    this.layout = lay;
    const head = el("div", { class: "diagram-head" });
    this.title = el("span", { class: "diagram-title" });
    const legend = el("span", { class: "diagram-legend" }, "δv = ∂L/∂v");
    legend.title = "Each badge: the selected unit's value on that wire, and a bar for every unit " +
      "(the selected one outlined; click a bar to select its unit). Backward: the gradient and " +
      "the chain-rule factor the wire multiplies it by.";
    head.append(this.title, this.unitControl(tr), legend);
    const root = svg("svg", { class: "diagram", viewBox: `0 0 ${W} ${VH}`, role: "img",
      "data-cell": tr.cell, "aria-label": `${tr.cell.toUpperCase()} cell diagram with this step's values` });
    const b = lay.box;
    root.append(svg("rect", { class: "cell-box", x: b.x, y: b.y, width: b.w, height: b.h, rx: 26 }));
    this.flows = [];
    const wires = svg("g", { class: "wires" });
    for (const wd of lay.wires) {
      const g = svg("g", { class: `wire ${wd.cls}`, "data-wire-path": wd.id });
      g.append(svg("path", { class: "line", d: wd.d }));
      const flow = svg("path", { class: "flow", d: wd.d, pathLength: 100 });
      g.append(flow);
      wires.append(g);
      this.flows.push({ wd, g });
    }
    root.append(wires);
    for (const [x, y] of lay.junctions) root.append(svg("circle", { class: "junction", cx: x, cy: y, r: 5 }));
    for (const bx of lay.boxes) root.append(this.gateBox(bx));
    for (const [kind, x, y] of lay.ops) root.append(this.op(kind, x, y));
    this.peepLabels = lay.peepLabels.map(([id, x, y, anchor]) => {
      const t = svg("text", { class: "peep-label", x, y, "text-anchor": anchor });
      root.append(t);
      return { id, t };
    });
    root.append(...this.endLabels(tr));
    this.badges = new Map();
    const layer = svg("g", { class: "badges" });
    for (const wd of lay.wires) {
      if (!wd.badge) continue;
      const bd = this.badge(wd);
      layer.append(bd.g);
      this.badges.set(wd.id, bd);
    }
    root.append(layer);
    root.addEventListener("click", (ev) => this.pickUnit(ev));
    this.svg = root;
    const wrap = el("div", { class: "diagram-wrap" });
    wrap.append(root);
    clear(this.container).append(head, wrap);
    this.shownT = null;
  }

  unitControl(tr) {
    const box = el("span", { class: "diagram-unit" });
    const Hn = tr.hidden_size;
    const prev = el("button", { type: "button", "aria-label": "Previous unit" }, "◀");
    const next = el("button", { type: "button", "aria-label": "Next unit" }, "▶");
    const input = el("input", { type: "number", min: 0, max: Hn - 1, step: 1, "aria-label": "Unit shown on the wires" });
    const go = (u) => this.state.set({ unit: Math.max(0, Math.min(Hn - 1, u)) });
    prev.addEventListener("click", () => go(this.state.unit - 1));
    next.addEventListener("click", () => go(this.state.unit + 1));
    input.addEventListener("change", () => {
      const u = Number(input.value);
      if (Number.isInteger(u)) go(u); else input.value = String(this.state.unit);
    });
    this.unitInput = input;
    const label = el("label", {}, "Unit ");
    label.append(input);
    box.append(prev, label, next, el("span", { class: "muted" }, ` of 0…${Hn - 1}`));
    return box;
  }

  gateBox({ x, y, label, name, op = false, linear = false, w = 76 }) {
    const g = svg("g", { class: op ? "op tanh-op" : linear ? "box linear" : "box" });
    if (op) g.append(svg("ellipse", { cx: x, cy: y, rx: 40, ry: 22 }));
    else g.append(svg("rect", { x: x - w / 2, y: y - 20, width: w, height: 40, rx: 6 }));
    g.append(svg("text", { x, y: y + 7, "text-anchor": "middle", class: "box-label" }, label));
    if (name) g.append(svg("text", { x: x + w / 2 + 6, y: y - 8, class: "box-name" }, name));
    return g;
  }

  op(kind, x, y) {
    const g = svg("g", { class: "op" });
    g.append(svg("circle", { cx: x, cy: y, r: 18 }));
    const sign = { times: "×", plus: "+", oneminus: "1−" }[kind];
    g.append(svg("text", { x, y: y + (kind === "oneminus" ? 6 : 8), "text-anchor": "middle",
      class: kind === "oneminus" ? "op-label small" : "op-label" }, sign));
    return g;
  }

  endLabels(tr) {
    const n = names(tr), lay = this.layout;
    const text = (x, y, s, anchor = "start") => svg("text", { class: "end-label", x, y, "text-anchor": anchor }, s);
    const from = tr.direction === 1 ? "from t + 1" : "from t − 1";
    const to = tr.direction === 1 ? "to t − 1" : "to t + 1";
    const out = [];
    if (tr.cell === "lstm") out.push(text(20, 76, from), text(1180, 76, to, "end"));
    out.push(text(20, tr.cell === "gru" ? 76 : 588, from));
    out.push(text(lay.outAt[0], lay.outAt[1], to, "end"));
    out.push(text(lay.upAt[0], lay.upAt[1], `to ${n.above}`, lay.upAt[2]));
    out.push(text(258, 684, tr.layer > 0 ? `from layer ${tr.layer - 1}` : "the input"));
    return out;
  }

  badge(wd) {
    const g = svg("g", { class: "badge", "data-wire": wd.id });
    const bg = svg("rect", { class: "bg", rx: 8 });
    const name = svg("text", { class: "b-name", "text-anchor": "middle" });
    const value = svg("text", { class: "b-value", "text-anchor": "middle" });
    const factor = svg("text", { class: "b-factor", "text-anchor": "middle" });
    const sel = svg("rect", { class: "spark-sel", height: SPARK_H + 4 });
    const bars = svg("path", { class: "spark" });
    const base = svg("line", { class: "spark-base" });
    g.append(bg, name, value, factor, base, bars, sel);
    return { wd, g, bg, name, value, factor, sel, bars, base, shape: "" };
  }

  /** Place and size a badge for its text (only when the text's length changed). */
  shape(bd, phase, nameText, valueText, factorText) {
    const [cx, cy] = bd.wd.badge;
    const w = Math.round(badgeWidth(nameText, valueText, phase === "backward" ? factorText : ""));
    const h = BADGE_H[phase];
    const key = `${w}:${h}`;
    if (bd.shape === key) return;
    bd.shape = key;
    const x0 = cx - w / 2, y0 = cy - h / 2;
    bd.bg.setAttribute("x", x0); bd.bg.setAttribute("y", y0);
    bd.bg.setAttribute("width", w); bd.bg.setAttribute("height", h);
    for (const t of [bd.name, bd.value, bd.factor]) t.setAttribute("x", cx);
    bd.name.setAttribute("y", y0 + 17);
    bd.value.setAttribute("y", y0 + 40);
    bd.factor.setAttribute("y", y0 + 57);
    bd.spark = { x: x0 + 8, y: y0 + h - SPARK_H - 3, w: w - 16, h: SPARK_H };
  }

  render() {
    const tr = this.trace;
    if (!tr || !this.isVisible()) return;
    const { t, phase } = this.state;
    if (!tr.steps[t]) return;
    const unit = Math.min(this.state.unit, tr.hidden_size - 1);
    const back = phase === "backward";
    const values = wireValues(tr, t, phase);
    const tok = tr.steps[t].token;
    const where = tr.num_layers > 1 || tr.bidirectional
      ? ` · layer ${tr.layer}${tr.bidirectional ? (tr.direction ? " ← reverse" : " → forward") : ""}` : "";
    const kind = tr.cell === "lstm" && tr.peephole ? "Peephole LSTM" : tr.cell.toUpperCase();
    this.title.textContent = `${kind}${where} · t = ${t} “${showToken(tok)}” · unit ${unit} · ` +
      (back ? "backward: gradients" : "forward: values");
    if (document.activeElement !== this.unitInput) this.unitInput.value = String(unit);
    this.svg.classList.toggle("backward", back);
    for (const [id, bd] of this.badges) {
      if (id === "x") { this.renderInput(bd, tr, t, phase); continue; }
      const v = values[id];
      const off = !v || (bd.wd.only && bd.wd.only !== phase);
      bd.g.style.display = off ? "none" : "";
      if (off) continue;
      const x = v.vec ? v.vec[unit] : null;
      const valueText = v.vec ? fmt(x, 3) : "–";
      this.shape(bd, phase, v.name, valueText, v.factor);
      bd.name.textContent = v.name;
      bd.value.textContent = valueText;
      bd.factor.textContent = back ? v.factor || "" : "";
      bd.g.dataset.value = x == null ? "" : String(x);
      bd.g.dataset.phase = phase;
      this.spark(bd, v.vec, unit, !back && UNIT_GATES.has(id));
    }
    for (const { id, t: label } of this.peepLabels) {
      const v = values[id];
      label.textContent = back ? (v ? `${v.factor}` : "") : id === "p_o" ? "peephole cₜ" : "peephole";
    }
    for (const { wd, g } of this.flows) {
      g.style.display = wd.only && wd.only !== phase ? "none" : "";
    }
    if (t !== this.shownT || phase !== this.shownPhase) this.pulse();
    this.shownT = t;
    this.shownPhase = phase;
  }

  renderInput(bd, tr, t, phase) {
    const v = inputValue(tr, t, phase);
    let valueText, name = v.name;
    if (phase === "backward") valueText = fmt(v.norm, 3);
    else if (v.token != null) {
      valueText = `“${showToken(v.token)}”`;
      if (!v.vec) name = `${v.name} one-hot #${v.index ?? "–"}`;
    } else {
      name = `‖${v.name}‖`;
      valueText = fmt(v.norm, 3);
    }
    this.shape(bd, phase, name, valueText, v.factor);
    bd.name.textContent = name;
    bd.value.textContent = valueText;
    bd.factor.textContent = phase === "backward" ? v.factor : "";
    bd.g.dataset.value = phase === "backward" || v.token == null ? String(v.norm ?? "") : String(v.token);
    bd.g.dataset.phase = phase;
    this.spark(bd, v.vec, null, false);
  }

  /** The whole vector as bars (gates from 0 up, signed values around a midline). */
  spark(bd, vec, unit, unitInterval) {
    const s = bd.spark;
    if (!vec || !vec.length) {
      bd.bars.setAttribute("d", "");
      bd.sel.setAttribute("width", 0);
      bd.base.setAttribute("x1", 0); bd.base.setAttribute("x2", 0);
      return;
    }
    const n = vec.length, bw = s.w / n;
    const scale = unitInterval ? 1 : Math.max(1e-300, ...vec.map((v) => Math.abs(v || 0)));
    const y0 = unitInterval ? s.y + s.h : s.y + s.h / 2;
    const half = unitInterval ? s.h : s.h / 2;
    let d = "";
    for (let k = 0; k < n; k++) {
      const v = vec[k];
      if (v == null) continue;
      const x = (s.x + (k + 0.5) * bw).toFixed(1);
      const y = (y0 - (v / scale) * half).toFixed(1);
      d += `M${x} ${y0.toFixed(1)}V${y}`;
    }
    bd.bars.setAttribute("d", d);
    bd.bars.setAttribute("stroke-width", Math.max(1, bw * 0.75).toFixed(2));
    bd.base.setAttribute("x1", s.x); bd.base.setAttribute("x2", s.x + s.w);
    bd.base.setAttribute("y1", y0); bd.base.setAttribute("y2", y0);
    if (unit == null) { bd.sel.setAttribute("width", 0); return; }
    bd.sel.setAttribute("x", (s.x + unit * bw - 1).toFixed(1));
    bd.sel.setAttribute("y", s.y - 2);
    bd.sel.setAttribute("width", Math.max(3, bw + 2).toFixed(1));
  }

  /** A click on a badge's bars selects that unit (the number box and ◀ ▶ do it by keyboard). */
  pickUnit(ev) {
    const g = ev.target.closest(".badge");
    if (!g || !this.trace) return;
    const bd = this.badges.get(g.dataset.wire);
    if (!bd || !bd.spark || g.dataset.wire === "x") return;
    const pt = this.svg.createSVGPoint();
    pt.x = ev.clientX; pt.y = ev.clientY;
    const p = pt.matrixTransform(this.svg.getScreenCTM().inverse());
    const Hn = this.trace.hidden_size;
    const k = Math.floor(((p.x - bd.spark.x) / bd.spark.w) * Hn);
    if (k >= 0 && k < Hn && p.y >= bd.spark.y - 4) this.state.set({ unit: k });
  }

  /** Restart the dots and the value flash (CSS; off under prefers-reduced-motion). */
  pulse() {
    const root = this.svg;
    const ms = Math.round(Math.min(700, 900 / (this.state.speed || 4)));
    root.style.setProperty("--flow-ms", `${ms}ms`);
    root.classList.remove("go");
    void root.getBoundingClientRect();   // a reflow, so the animation starts again
    root.classList.add("go");
  }
}
