// Heatmaps over time (plotly): hidden state, each gate, the cell state, the output probabilities
// and the loss at each step.
import { el, clear, fmt } from "../dom.js";
import { PLOTLY_DIVERGING, PLOTLY_VIRIDIS } from "../config.js";
import { isUnitInterval } from "../colors.js";
import { plotlyText, baseLayout, PlotCursors, mountPlots } from "../plots.js";
import { tickText, hoverTokens, hoverRows } from "./token_marks.js";

const LIVE_REDRAW_MS = 400;
const NAMES = { h: "hidden state h", c: "cell state c", pre: "pre-activation a", i: "input gate i",
  f: "forget gate f", g: "candidate g", o: "output gate o", r: "reset gate r", z: "update gate z", n: "candidate n" };

/** Units × steps matrix of one quantity. */
export function unitsBySteps(steps, name, H) {
  const get = (s) => (name === "h" || name === "c" || name === "pre" ? s[name] : s.gates[name]);
  return Array.from({ length: H }, (_, k) => steps.map((s) => (get(s) ? get(s)[k] : null)));
}

export class HeatmapsView {
  constructor(container, state) {
    this.container = container;
    this.state = state;
    this.divs = [];
    this.cursors = new PlotCursors();
    this.trace = null;
    this.drawn = null;
  }

  update(trace) {
    this.trace = trace;
    this.drawn = null;
    if (this.isVisible()) this.draw();
  }

  isVisible() {
    return !this.container.hidden;
  }

  draw() {
    const tr = this.trace;
    if (!tr || this.drawn === tr) return;
    this.drawn = tr;
    // Lay out every plot box first so each plot is drawn at its final width.
    const specs = [...this.stateSpecs(tr), ...this.outputSpecs(tr)];
    const grid = el("div", { class: "plot-grid" });
    clear(this.container).append(grid);
    mountPlots(this, grid, specs, tr);
  }

  /** Units × steps heatmaps: h, c or the pre-activation, and every gate. */
  stateSpecs(tr) {
    const T = tr.steps.length, H = tr.hidden_size;
    const names = ["h", ...(tr.cell === "lstm" ? ["c"] : []), ...(tr.cell === "rnn" ? ["pre"] : []), ...tr.gate_names];
    const x = [...Array(T).keys()], tokens = hoverRows(tr, H), ticks = tickText(tr);
    const height = Math.max(220, Math.min(380, 110 + H * 5));
    return names.map((name) => {
      const unit = isUnitInterval(name);
      const data = [{ type: "heatmap", z: unitsBySteps(tr.steps, name, H), x, customdata: tokens,
        colorscale: unit ? PLOTLY_VIRIDIS : PLOTLY_DIVERGING,
        zmin: unit ? 0 : undefined, zmax: unit ? 1 : undefined, zmid: unit ? undefined : 0,
        hovertemplate: `${name}[%{y}] at t=%{x} “%{customdata}”: %{z:.3f}<extra></extra>`, colorbar: { thickness: 14 } }];
      const layout = baseLayout(`${NAMES[name]} (units × steps)`, { height,
        xaxis: {}, yaxis: { title: { text: "unit" }, autorange: "reversed" } });
      return { name, data, layout, steps: "step t", ticks };   // mountPlots labels the steps to fit
    });
  }

  /** The top predictions (rank × steps, labelled with the tokens) and the loss at each step. */
  outputSpecs(tr) {
    const T = tr.steps.length;
    const x = [...Array(T).keys()], ticks = tickText(tr);
    const specs = [];
    const k = Math.max(0, ...tr.steps.map((s) => (s.top ? s.top.length : 0)));
    if (k > 0) {
      const z = [], text = [];
      for (let r = 0; r < k; r++) {
        z.push(tr.steps.map((s) => (s.top && s.top[r] ? s.top[r].p : null)));
        text.push(tr.steps.map((s) => (s.top && s.top[r] ? plotlyText(s.top[r].token ?? s.top[r].index) : "")));
      }
      specs.push({ name: "probs", steps: "step t", ticks, data: [{ type: "heatmap", z, x, y: [...Array(k).keys()].map((r) => `#${r + 1}`), text,
        customdata: hoverRows(tr, k),
        texttemplate: T <= 40 ? "%{text}" : "", textfont: { size: 14 }, colorscale: PLOTLY_VIRIDIS, zmin: 0, zmax: 1,
        hovertemplate: "t=%{x} “%{customdata}” → %{text} p=%{z:.3f}<extra></extra>", colorbar: { thickness: 14 } }],
      layout: baseLayout("output probabilities: top predictions at each step", { xaxis: {},
        yaxis: { type: "category", autorange: "reversed", title: { text: "rank" } } }) });
    }
    const losses = tr.steps.map((s) => s.loss);
    if (losses.some((v) => v != null)) {
      const hover = tr.steps.map((s) => (s.target_token != null ? `target ${plotlyText(s.target_token)}` : "no target"));
      specs.push({ name: "loss", steps: "step t", ticks, data: [{ type: "bar", x, y: losses, hovertext: hover,
        customdata: hoverTokens(tr), marker: { color: "#d95f02" },
        hovertemplate: "t=%{x} “%{customdata}”: L=%{y:.3f} (%{hovertext})<extra></extra>" }],
      layout: baseLayout(`loss at each step (total L = ${fmt(tr.loss)})`, { xaxis: {}, hovermode: "x",
        yaxis: { title: { text: "L_t" } } }) });
    }
    return specs;
  }

  reset() {
    this.trace = null;
    this.drawn = null;
    if (this.cancelDraws) this.cancelDraws();
    this.cursors.reset();
    clear(this.container);
  }

  render() {
    if (!this.isVisible()) return;
    if (this.drawn !== this.trace) { this.draw(); return; }
    this.cursors.move(this.state.t);
  }

  /** Live-typed steps: redraw once the burst of typing settles, not on every frame. */
  append(trace) {
    this.trace = trace;
    clearTimeout(this.appendTimer);
    this.appendTimer = setTimeout(() => this.update(this.trace), LIVE_REDRAW_MS);
  }
}
