// The encoder–decoder unrolled: the encoder's steps on the left, the context vector between, the
// decoder's steps on the right with their predictions. Forward fills it left to right; backward
// lights the gradient from the last decoder step back into the encoder through the context vector
// (and, with attention, through every attention line). With attention, the lines from the current
// decoder step to every encoder state have width and opacity by α (forward) or by the gradient
// each carries back (backward); dragging a decoder step onto a source token asks for the what-if
// (`onFocus(t, s)`).
import { svg, clear, fmt, showToken } from "../dom.js";
import { diverging } from "../colors.js";

const Y_LABEL = 18, Y_CELL = 156, CELL_H = 58, Y_IN = Y_CELL + CELL_H + 18, IN_H = 32;
const Y_NORM = Y_IN + IN_H + 22, HEIGHT = Y_NORM + 12, Y_OUT = Y_CELL - 58, OUT_H = 34;
const MIN_COL = 50, MAX_COL = 92, CTX_COLS = 1.8, LEFT = 6;

/** A gradient norm in five characters or fewer (a column is narrow): 2e−4, 0.31. */
function compact(v) {
  if (!(v > 0)) return "0";
  return v >= 0.01 && v < 100 ? v.toFixed(2) : v.toExponential(0).replace("-", "−").replace("+", "");
}

/** Log-scaled stroke width for a gradient norm among norms spanning [lo, hi]. */
function gradWidth(norm, lo, hi) {
  if (!(norm > 0)) return 1;
  const a = Math.log10(Math.max(norm, lo)), b = Math.log10(hi), c = Math.log10(lo);
  return 1.5 + 10 * (b > c ? (a - c) / (b - c) : 1);
}

/** A vector as a small grid of coloured squares inside a node box. */
function miniGrid(values, x, y, w, h) {
  const g = svg("g", { class: "mini" });
  const cols = Math.min(values.length, 8), rows = Math.ceil(values.length / cols);
  const cw = w / cols, ch = Math.min(cw, h / rows);
  const top = y + (h - rows * ch) / 2;
  const scale = Math.max(1, ...values.map(Math.abs));
  values.forEach((v, k) => {
    g.append(svg("rect", { x: x + (k % cols) * cw, y: top + Math.floor(k / cols) * ch,
      width: Math.max(1, cw - 1), height: Math.max(1, ch - 1), fill: diverging(v, scale) }));
  });
  return g;
}

export class EncoderDecoderDiagram {
  constructor(container, { onSelect, onFocus }) {
    this.container = container;
    this.onSelect = onSelect;       // (timeline index)
    this.onFocus = onFocus;         // (decoder step, source position): the what-if
    this.trace = null;
    this.drag = null;
  }

  /** Node centre x of timeline index i. */
  xOf(i) {
    const S = this.S, col = this.col;
    if (i < S) return LEFT + i * col + col / 2;
    if (i === S) return LEFT + S * col + (CTX_COLS * col) / 2;
    return LEFT + S * col + CTX_COLS * col + (i - S - 1) * col + col / 2;
  }

  update(trace) {
    this.trace = trace;
    const S = (this.S = trace.encoder.length), T = (this.T = trace.decoder.length);
    const avail = Math.max(600, (this.container.clientWidth || 900) - 2 * LEFT);
    this.col = Math.max(MIN_COL, Math.min(MAX_COL, Math.floor(avail / (S + T + CTX_COLS))));
    const width = (this.width = 2 * LEFT + (S + T + CTX_COLS) * this.col);
    const root = svg("svg", { class: this.col < 64 ? "s2s narrow" : "s2s", width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`,
      role: "img", "aria-label": `Encoder–decoder: ${S} source tokens, ${T} decoder steps` });
    root.append(svg("defs"));
    root.querySelector("defs").append(...["fwd", "grad"].map((id) => {
      const m = svg("marker", { id: `s2s-${id}`, viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 9,
        markerHeight: 9, orient: "auto-start-reverse", markerUnits: "userSpaceOnUse" });
      m.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: `head-${id}` }));
      return m;
    }));
    const cw = this.col * 0.72;
    this.cursor = svg("rect", { class: "cursor", y: 26, height: HEIGHT - 30, rx: 8 });
    root.append(this.cursor);
    const xEnc = this.xOf(0) - this.col / 2, xDec = this.xOf(S + 1) - this.col / 2;
    root.append(svg("text", { class: "part", x: xEnc + 4, y: Y_LABEL }, "Encoder: reads the source"),
      svg("text", { class: "part", x: xDec + 4, y: Y_LABEL }, "Decoder: writes the output"));
    this.arcs = svg("g", { class: "arcs" });
    root.append(this.arcs);
    this.nodes = [];
    const node = (i, kind, token, h, extra = {}) => {
      const g = svg("g", { class: `node ${kind}`, "data-i": i, "data-part": kind, ...extra });
      const x = this.xOf(i), w = kind === "context" ? this.col * CTX_COLS * 0.8 : cw;
      const y = kind === "context" ? Y_CELL - 10 : Y_CELL, hh = kind === "context" ? CELL_H + 20 : CELL_H;
      g.append(svg("rect", { class: "cell-box", x: x - w / 2, y, width: w, height: hh, rx: 7 }));
      g.append(miniGrid(h, x - w / 2 + 4, y + 4, w - 8, hh - 8));
      if (kind !== "context") {
        g.append(svg("line", { class: "io", x1: x, y1: Y_IN, x2: x, y2: Y_CELL + CELL_H + 2,
          "marker-end": "url(#s2s-fwd)" }));
        const tw = Math.min(this.col - 6, Math.max(30, 11 * [...showToken(token)].length + 12));
        g.append(svg("rect", { class: "tok-box", x: x - tw / 2, y: Y_IN, width: tw, height: IN_H, rx: 5 }),
          svg("text", { class: "tok", x, y: Y_IN + 22, "text-anchor": "middle" }, showToken(token)));
      }
      g.append(svg("text", { class: "norm", x, y: Y_NORM, "text-anchor": "middle" }));
      this.nodes[i] = g;
      return g;
    };
    const rec = svg("g", { class: "recs" });
    root.append(rec);
    for (let i = 0; i + 1 < S + 1 + T; i++) {
      const from = this.xOf(i), to = this.xOf(i + 1);
      const hw = (i === S ? this.col * CTX_COLS * 0.8 : cw) / 2, hw2 = (i + 1 === S ? this.col * CTX_COLS * 0.8 : cw) / 2;
      rec.append(svg("line", { class: "rec", "data-to": i + 1, x1: from + hw, y1: Y_CELL + CELL_H / 2,
        x2: to - hw2 - 2, y2: Y_CELL + CELL_H / 2, "marker-end": "url(#s2s-fwd)" }));
    }
    trace.encoder.forEach((e, s) => {
      const g = node(s, "encoder", e.token, e.h, { "data-s": s });
      if (e.unknown) g.classList.add("unknown");
      g.append(svg("text", { class: "alpha-label", x: this.xOf(s), y: Y_CELL - 10, "text-anchor": "middle" }));
      root.append(g);
    });
    const ctx = node(S, "context", null, trace.context.h);
    ctx.append(svg("text", { class: "ctx-label", x: this.xOf(S), y: Y_CELL - 18, "text-anchor": "middle" },
      "context c"));
    const n = Math.hypot(...trace.context.h);
    ctx.append(svg("text", { class: "ctx-norm", x: this.xOf(S), y: Y_CELL + CELL_H + 28, "text-anchor": "middle" },
      `‖c‖ = ${fmt(n, 2)}`));
    root.append(ctx);
    trace.decoder.forEach((d, t) => {
      const g = node(S + 1 + t, "decoder", d.input_token, d.h, { "data-t": t });
      const x = this.xOf(S + 1 + t), w = this.col - 8;
      g.append(svg("line", { class: "io out", x1: x, y1: Y_CELL - 2, x2: x, y2: Y_OUT + OUT_H + 4,
        "marker-end": "url(#s2s-fwd)" }));
      const out = svg("g", { class: "out-group" });
      out.append(svg("rect", { class: "out-box", x: x - w / 2, y: Y_OUT, width: w, height: OUT_H, rx: 6 }),
        svg("text", { class: "pred", x, y: Y_OUT + 23, "text-anchor": "middle" }, showToken(d.predicted_token)),
        svg("text", { class: "prob", x, y: Y_OUT - 5, "text-anchor": "middle" }, `p ${fmt(d.top[0].p, 2)}`),
      );
      g.append(svg("text", { class: "own", x, y: Y_NORM, "text-anchor": "middle" }));
      if (trace.mode === "teacher") {
        const ok = d.predicted === d.target;
        out.append(svg("text", { class: `target ${ok ? "ok" : "miss"}`, x, y: Y_OUT - 24, "text-anchor": "middle" },
          `${ok ? "✓" : "✗"} ${showToken(d.target_token)}`));
      }
      g.append(out);
      root.append(g);
    });
    // The gradient each recurrent arrow carries backward, into the node it leaves from.
    const b = trace.backward;
    this.recNorm = [...b.encoder.map((e) => e.dh_rec_norm), b.context.dh_norm,
      ...b.decoder.map((d) => Math.hypot(...d.dh.map((v, k) => v - d.dh_out[k])))];
    this.dragLine = svg("line", { class: "drag-line", hidden: "" });
    root.append(this.dragLine);
    this.svg = root;
    this.bindPointer(root);
    clear(this.container).append(root);
  }

  reset() {
    this.trace = null;
    clear(this.container);
  }

  /** view: {i, phase, whatif: {t, alpha, predicted} | null}. */
  render({ i, phase, whatif }) {
    const tr = this.trace;
    if (!tr) return;
    const S = this.S, L = S + 1 + this.T, back = phase === "backward";
    const norms = [...tr.backward.encoder.map((e) => e.dh_norm), tr.backward.context.dh_norm,
      ...tr.backward.decoder.map((d) => d.dh_norm)];
    const pos = norms.filter((v) => v > 0);
    const lo = pos.length ? Math.min(...pos) : 1e-12, hi = pos.length ? Math.max(...pos) : 1;
    this.nodes.forEach((g, k) => {
      g.classList.toggle("current", k === i);
      g.classList.toggle("future", !back && k > i);
      g.classList.toggle("grad-on", back && k >= i);
      // with attention the encoder's gradient through the attention is there once the decoder is done
      const attn = back && tr.attention && k < S && i <= S && k < i;
      const lab = g.querySelector(".norm");
      lab.textContent = back && k >= i ? compact(norms[k]) : attn ? compact(tr.backward.encoder[k].dh_attn_norm) : "";
      lab.classList.toggle("attn-only", attn);
    });
    for (const line of this.svg.querySelectorAll("line.rec")) {
      const to = Number(line.dataset.to);
      // backward: the gradient reaching node to−1 from node to (dh_rec, the context's dh)
      const on = back && to > i;
      line.classList.toggle("grad", on);
      line.classList.toggle("future", !back && to > i);
      line.setAttribute("stroke-width", on ? gradWidth(this.recNorm[to - 1], lo, hi) : 3);
      line.setAttribute("marker-end", on ? "" : "url(#s2s-fwd)");
      line.setAttribute("marker-start", on ? "url(#s2s-grad)" : "");
    }
    const x0 = this.xOf(i) - (i === S ? (CTX_COLS * this.col) / 2 : this.col / 2);
    this.cursor.setAttribute("x", x0 + 2);
    this.cursor.setAttribute("width", (i === S ? CTX_COLS * this.col : this.col) - 4);
    this.cursor.classList.toggle("backward", back);
    this.back = back;
    this.renderOutputs(whatif);
    this.renderArcs(i, back, whatif);
    this.svg.dataset.i = String(Math.min(i, L - 1));
  }

  renderOutputs(whatif) {
    this.trace.decoder.forEach((d, t) => {
      const g = this.nodes[this.S + 1 + t];
      const changed = whatif && whatif.t === t && whatif.predicted;
      g.classList.toggle("whatif", !!changed);
      g.querySelector(".pred").textContent = showToken(changed ? whatif.predicted.token : d.predicted_token);
      g.querySelector(".prob").textContent = `p ${fmt(changed ? whatif.predicted.p : d.top[0].p, 2)}`;
      g.querySelector(".own").textContent = changed && !this.back ? `was ${showToken(d.predicted_token)}` : "";
    });
  }

  /** The current decoder step's attention lines (forward: α or the what-if's α; backward: the
   * gradient each line carries back to its encoder state, ‖g_ts‖ = ‖α_ts dctx_t + dscore_ts q_t‖). */
  renderArcs(i, back, whatif) {
    clear(this.arcs);
    const tr = this.trace, t = i - this.S - 1;
    for (const lab of this.svg.querySelectorAll(".alpha-label")) lab.textContent = "";
    if (!tr.attention) return;
    if (back) { this.renderGradArcs(t); return; }
    if (t < 0) return;
    const own = tr.decoder[t].alpha;
    const mine = whatif && whatif.t === t ? whatif.alpha : null;
    const alpha = mine || own;
    const xd = this.xOf(i);
    alpha.forEach((a, s) => {
      this.arcs.append(this.arc(xd, this.xOf(s), a, `arc${mine ? " mine" : ""}`, s));
      const num = a.toFixed(2);
      this.nodes[s].querySelector(".alpha-label").textContent = this.col < 64 ? num.replace(/^0/, "") : `α ${num}`;
    });
  }

  /** Backward: decoder step t's lines (t < 0, the encoder's own steps: every step's lines, the
   * gradient having reached every encoder state through them at once), each as wide as the
   * gradient it carries, on one log scale over the whole trace. */
  renderGradArcs(t) {
    const tr = this.trace, rows = tr.backward.decoder.map((d) => d.dh_enc_norm || []);
    const pos = rows.flat().filter((v) => v > 0);
    const lo = pos.length ? Math.min(...pos) : 1e-12, hi = pos.length ? Math.max(...pos) : 1;
    const line = (u, s, cls) => {
      const g = rows[u][s] ?? 0, a = tr.decoder[u].alpha[s];
      const arc = this.arc(this.xOf(this.S + 1 + u), this.xOf(s), a, cls, s, gradWidth(g, lo, hi) - 0.5,
        0.25 + 0.75 * (g > 0 ? (Math.log10(Math.max(g, lo)) - Math.log10(lo)) / Math.max(1e-9, Math.log10(hi / lo)) : 0));
      arc.dataset.grad = String(g);
      arc.append(svg("title", {}, `gradient from decoder step ${u} into encoder state ${s} through this line: ` +
        `‖α dctx + dscore·q‖ = ${fmt(g, 4)} (α = ${fmt(a, 3)})`));
      this.arcs.append(arc);
    };
    if (t < 0) {
      tr.decoder.forEach((d, u) => d.alpha.forEach((_, s) => line(u, s, "arc grad all")));
      return;
    }
    tr.decoder[t].alpha.forEach((_, s) => {
      line(t, s, "arc grad");
      this.nodes[s].querySelector(".alpha-label").textContent = compact(rows[t][s]);
    });
  }

  /** One attention line from a decoder state (x = xd) down to an encoder state (x = xe): by
   * default as wide and as opaque as its weight α. */
  arc(xd, xe, a, cls, s = null, width = 1 + 11 * a, opacity = 0.2 + 0.8 * a) {
    const peak = 34 + (1 - a) * 18;
    const d = `M${xd},${Y_CELL} C${xd},${peak} ${xe},${peak} ${xe},${Y_CELL}`;
    return svg("path", { class: cls, d, "data-s": s, "data-alpha": a,
      "stroke-width": width, "stroke-opacity": opacity });
  }

  svgX(ev) {
    const p = this.svg.createSVGPoint();
    p.x = ev.clientX;
    p.y = ev.clientY;
    return p.matrixTransform(this.svg.getScreenCTM().inverse());
  }

  bindPointer(root) {
    root.addEventListener("pointerdown", (ev) => {
      const g = ev.target.closest("g.node");
      if (!g) return;
      this.drag = { i: Number(g.dataset.i), t: g.dataset.t == null ? null : Number(g.dataset.t),
        x: ev.clientX, y: ev.clientY, moved: false };
      if (this.drag.t != null && this.trace.attention) root.setPointerCapture(ev.pointerId);
    });
    root.addEventListener("pointermove", (ev) => {
      const d = this.drag;
      if (!d || d.t == null || !this.trace.attention) return;
      if (!d.moved && Math.hypot(ev.clientX - d.x, ev.clientY - d.y) < 6) return;
      d.moved = true;
      const p = this.svgX(ev);
      this.dragLine.removeAttribute("hidden");
      for (const [k, v] of Object.entries({ x1: this.xOf(d.i), y1: Y_CELL, x2: p.x, y2: p.y })) {
        this.dragLine.setAttribute(k, v);
      }
    });
    root.addEventListener("pointerup", (ev) => {
      const d = this.drag;
      this.drag = null;
      this.dragLine.setAttribute("hidden", "");
      if (!d) return;
      if (!d.moved) { this.onSelect(d.i); return; }
      const s = Math.floor((this.svgX(ev).x - LEFT) / this.col);
      if (s >= 0 && s < this.S) this.onFocus(d.t, s);
    });
    root.addEventListener("pointercancel", () => { this.drag = null; this.dragLine.setAttribute("hidden", ""); });
  }
}
