// The hidden state's path: h_t of the shown cell projected on the two principal axes of the
// model's own states (GET /api/models/{id}/projection, fitted once per model), drawn step by
// step with its tokens. The axes never depend on the sentence, so a second sentence (the
// `overlay` state prop) is drawn on the same axes and the two paths can be compared.
// SVG only; every token goes in as text.
import { el, svg, clear, fmt, showToken } from "../dom.js";
import { fetchProjection, fetchTrace } from "../api.js";

const PAD = { l: 64, r: 20, t: 16, b: 52 };
const LABEL_ALL_UP_TO = 40;      // longer sentences: only the current step's token is labelled
const LIVE_REDRAW_MS = 400;

/** point(h) = (h − mean) · componentsᵀ (contracts §8); a second axis of zeros for H = 1. */
export function project(h, proj) {
  const out = proj.components.map((c) => c.reduce((acc, ck, k) => acc + ck * (h[k] - proj.mean[k]), 0));
  while (out.length < 2) out.push(0);
  return out;
}

/** About five round tick values covering [lo, hi]. */
function ticks(lo, hi, n = 5) {
  const span = hi - lo || 1;
  const raw = span / n, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

const pct = (r) => `${(100 * r).toFixed(1)}%`;

export class PathView {
  constructor(container, state, { compact = false } = {}) {
    this.container = container;
    this.state = state;
    this.compact = compact;
    this.trace = null;
    this.drawn = null;             // the key of what is on screen
    this.projections = new Map();  // "model|layer|direction" -> Promise of the projection
    this.overlays = new Map();     // "model|layer|direction|text" -> Promise of the trace
    this.gen = 0;
    this.cursors = [];
    state.addEventListener("change", (e) => {
      if (e.detail.changed.includes("overlay")) this.render();
    });
  }

  isVisible() {
    return !this.container.hidden;
  }

  update(trace) {
    this.trace = trace;
    this.drawn = null;
    this.render();
  }

  reset(reason = "") {
    this.trace = null;
    this.drawn = null;
    this.gen++;
    clear(this.container);
    if (reason) this.container.append(el("p", { class: "hint" }, reason));
  }

  append(trace) {
    this.trace = trace;
    clearTimeout(this.appendTimer);
    this.appendTimer = setTimeout(() => this.update(this.trace), LIVE_REDRAW_MS);
  }

  key() {
    const tr = this.trace;
    return tr && JSON.stringify([this.state.model, tr.layer, tr.direction, tr.steps.length, this.state.text,
      this.state.overlay, tr.live ? tr.steps.length : 0]);
  }

  render() {
    if (!this.isVisible() || !this.trace) return;
    if (this.drawn !== this.key()) { this.draw(); return; }
    this.moveCursor();
  }

  projection(model, layer, direction) {
    const k = `${model}|${layer}|${direction}`;
    if (!this.projections.has(k)) {
      const p = fetchProjection(model, layer, direction);
      p.catch(() => this.projections.delete(k));   // a failure is not remembered
      this.projections.set(k, p);
    }
    return this.projections.get(k);
  }

  overlayTrace(model, layer, direction, text) {
    const k = JSON.stringify([model, layer, direction, text]);
    if (!this.overlays.has(k)) {
      const p = fetchTrace({ model, text, layer, direction, top_k: 1, flow: false });
      p.catch(() => this.overlays.delete(k));
      this.overlays.set(k, p);
      if (this.overlays.size > 20) this.overlays.delete(this.overlays.keys().next().value);
    }
    return this.overlays.get(k);
  }

  async draw() {
    const tr = this.trace, key = this.key(), gen = ++this.gen;
    this.drawn = key;
    const { model, overlay } = this.state;
    let proj, other = null, overlayError = "";
    try {
      proj = await this.projection(model, tr.layer, tr.direction);
    } catch (err) {
      if (gen !== this.gen) return;
      clear(this.container).append(el("p", { class: "error-inline" }, `Could not fit the projection: ${err.message}`));
      this.drawn = null;
      return;
    }
    if (overlay) {
      try {
        other = await this.overlayTrace(model, tr.layer, tr.direction, overlay);
      } catch (err) {
        overlayError = `The second sentence could not be traced: ${err.message}`;
      }
    }
    if (gen !== this.gen) return;
    this.paint(tr, proj, other, overlayError);
  }

  /** The controls, the legend and the picture. */
  paint(tr, proj, other, overlayError) {
    const box = clear(this.container);
    box.append(this.controls());
    const cell = tr.num_layers > 1 || tr.bidirectional
      ? ` of layer ${tr.layer}${tr.bidirectional ? (tr.direction ? " (reverse)" : " (forward)") : ""}` : "";
    const ratio = proj.explained_variance_ratio;
    box.append(el("p", { class: "hint path-about" },
      `Each dot is the hidden state h_t${cell} after reading a token, seen along the two directions in which ` +
      `this model's own states vary most (PCA: PC1 holds ${pct(ratio[0] || 0)} of their variance, PC2 ` +
      `${pct(ratio[1] || 0)}). The axes were fitted once on ${proj.reference.description}: ` +
      `${proj.reference.states} states, the grey cloud. They stay put when the sentence changes.`));
    const legend = el("div", { class: "path-legend", "data-role": "legend" });
    legend.append(this.legendItem("main", this.state.text, tr.steps.length));
    if (other) legend.append(this.legendItem("overlay", this.state.overlay, other.steps.length));
    box.append(legend);
    if (overlayError) box.append(el("p", { class: "error-inline", role: "alert" }, overlayError));

    const main = tr.steps.map((s) => project(s.h, proj));
    const second = other ? other.steps.map((s) => project(s.h, proj)) : [];
    const start = project(new Array(tr.hidden_size).fill(0), proj);   // h₋₁ = 0, the initial state
    this.points = { main, overlay: second };
    box.append(this.picture(tr, other, proj, main, second, start));
    this.moveCursor();
  }

  controls() {
    const row = el("div", { class: "row path-controls" });
    const label = el("label", { class: "field grow" }, "Compare with a second sentence");
    const input = el("input", { type: "text", class: "path-overlay-input", autocomplete: "off", spellcheck: "false",
      maxlength: document.body.dataset.maxTextChars || "500", placeholder: "e.g. the same words in another order",
      "aria-label": "Second sentence, drawn on the same axes" });
    input.value = this.state.overlay;
    label.append(input);
    const apply = () => this.state.set({ overlay: input.value.trim() });
    input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") apply(); });
    const go = el("button", { type: "button", class: "path-overlay-go" }, "Overlay");
    go.addEventListener("click", apply);
    const drop = el("button", { type: "button", class: "path-overlay-clear" }, "Clear");
    drop.disabled = !this.state.overlay;
    drop.addEventListener("click", () => this.state.set({ overlay: "" }));
    const info = el("button", { type: "button", class: "info", "data-explain": "path", "aria-label": "About the path of h" }, "i");
    row.append(label, go, drop, info);
    return row;
  }

  legendItem(series, text, T) {
    const item = el("span", { class: `path-legend-item ${series}`, "data-series": series });
    item.append(el("span", { class: "path-swatch", "aria-hidden": "true" }));
    const words = el("span", { class: "path-legend-text" }, `“${text}”`);
    item.append(document.createTextNode(series === "main" ? "this sentence " : "second sentence "), words,
      document.createTextNode(` · ${T} steps`));
    return item;
  }

  /** The SVG: axes from the reference cloud (and the paths, if one leaves it), cloud, paths. */
  picture(tr, other, proj, main, second, start) {
    const width = Math.max(480, Math.min(2400, this.container.clientWidth || 900));
    const height = this.compact ? Math.max(220, (this.container.clientHeight || 300) - 120)
      : Math.round(Math.max(320, Math.min(560, width * 0.45)));
    const all = [...main, ...second, start];
    const ext = proj.extent.length >= 2 ? proj.extent : [proj.extent[0] || [-1, 1], [-1, 1]];
    const range = [0, 1].map((j) => {
      let lo = Math.min(ext[j][0], ...all.map((p) => p[j])), hi = Math.max(ext[j][1], ...all.map((p) => p[j]));
      if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
      const pad = (hi - lo) * 0.06;
      return [lo - pad, hi + pad];
    });
    const iw = width - PAD.l - PAD.r, ih = height - PAD.t - PAD.b;
    const X = (v) => PAD.l + ((v - range[0][0]) / (range[0][1] - range[0][0])) * iw;
    const Y = (v) => PAD.t + (1 - (v - range[1][0]) / (range[1][1] - range[1][0])) * ih;
    this.toPixel = (p) => [X(p[0]), Y(p[1])];
    const root = svg("svg", { class: "path-svg", viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
      "aria-label": `Path of the hidden state over ${tr.steps.length} steps` +
        (other ? ` and the second sentence's over ${other.steps.length}` : ""),
      "data-x-range": range[0].join(","), "data-y-range": range[1].join(",") });
    root.append(svg("rect", { class: "path-frame", x: PAD.l, y: PAD.t, width: iw, height: ih }));
    const axes = svg("g", { class: "path-axes" });
    for (const v of ticks(...range[0])) {
      axes.append(svg("line", { class: v === 0 ? "path-zero" : "path-grid", x1: X(v), x2: X(v), y1: PAD.t, y2: PAD.t + ih }),
        svg("text", { x: X(v), y: PAD.t + ih + 18, "text-anchor": "middle" }, fmt(v, 1)));
    }
    for (const v of ticks(...range[1])) {
      axes.append(svg("line", { class: v === 0 ? "path-zero" : "path-grid", x1: PAD.l, x2: PAD.l + iw, y1: Y(v), y2: Y(v) }),
        svg("text", { x: PAD.l - 8, y: Y(v) + 5, "text-anchor": "end" }, fmt(v, 1)));
    }
    const r = proj.explained_variance_ratio;
    axes.append(svg("text", { class: "path-axis-title", x: PAD.l + iw / 2, y: height - 8, "text-anchor": "middle" },
      `PC1 (${pct(r[0] || 0)} of the variance)`));
    axes.append(svg("text", { class: "path-axis-title", x: 16, y: PAD.t + ih / 2, "text-anchor": "middle",
      transform: `rotate(-90 16 ${PAD.t + ih / 2})` }, `PC2 (${pct(r[1] || 0)})`));
    root.append(axes);
    const cloud = svg("g", { class: "path-cloud", "aria-hidden": "true" });
    for (const p of proj.points) cloud.append(svg("circle", { cx: X(p[0]), cy: Y(p[1] ?? 0), r: 2.2 }));
    root.append(cloud);
    const [sx, sy] = this.toPixel(start);
    root.append(svg("rect", { class: "path-start", x: sx - 6, y: sy - 6, width: 12, height: 12 }),
      svg("text", { class: "path-start-label", x: sx - 10, y: sy + 22, "text-anchor": "end" }, "h₋₁ = 0"));
    if (other) root.append(this.series("overlay", other, second, start));
    root.append(this.series("main", tr, main, start));
    this.cursors = ["main", "overlay"].map((s) => {
      const ring = svg("circle", { class: `path-cursor ${s}`, r: 13, "data-series": s });
      root.append(ring);
      return ring;
    });
    const scroll = el("div", { class: "path-scroll" });
    scroll.append(root);
    return scroll;
  }

  /** One sentence's path: a line from h₋₁ through every h_t, a dot and a token label per step. */
  series(name, tr, pts, start) {
    const g = svg("g", { class: `path-series ${name}`, "data-series": name });
    const line = [start, ...pts].map((p) => this.toPixel(p).map((v) => v.toFixed(1)).join(",")).join(" ");
    g.append(svg("polyline", { class: "path-line", points: line }));
    const labelAll = pts.length <= LABEL_ALL_UP_TO;
    pts.forEach((p, t) => {
      const [x, y] = this.toPixel(p);
      const tok = showToken(tr.tokens[t]);
      const dot = svg("circle", { class: "path-dot", cx: x, cy: y, r: 6, "data-t": t,
        "data-pc1": String(p[0]), "data-pc2": String(p[1]) });
      dot.append(svg("title", {}, `t = ${t} “${tok}”: PC1 ${fmt(p[0])}, PC2 ${fmt(p[1])}`));
      const label = svg("text", { class: `path-label${labelAll ? "" : " only-current"}`, x: x + 9,
        y: name === "main" ? y - 9 : y + 20, "data-t": t }, tok);
      g.append(dot, label);
    });
    return g;
  }

  /** The current step's ring on each path (a style change: cheap at 60 frames a second). */
  moveCursor() {
    if (!this.points || !this.toPixel) return;
    const t = this.state.t;
    for (const ring of this.cursors) {
      const p = this.points[ring.dataset.series][t];
      ring.style.display = p ? "" : "none";
      if (p) {
        const [x, y] = this.toPixel(p);
        ring.setAttribute("cx", x.toFixed(1));
        ring.setAttribute("cy", y.toFixed(1));
      }
    }
    for (const node of this.container.querySelectorAll(".path-label.current, .path-dot.current")) node.classList.remove("current");
    for (const node of this.container.querySelectorAll(`.path-label[data-t="${t}"], .path-dot[data-t="${t}"]`)) node.classList.add("current");
  }
}
