// Gradients: ||dL/dh_t|| per step on a log scale, the gradient-flow matrix ||dL_t/dh_s|| (log colour),
// and each step's contribution to dW_hh with the running sum. Vanishing/exploding shows here.
import { el, clear, fmt } from "../dom.js";
import { PLOTLY_VIRIDIS, GRAD_COLOR, SHARED_W_COLOR } from "../config.js";
import { baseLayout, PlotCursors, mountPlots } from "../plots.js";
import { tickText, hoverTokens } from "./token_marks.js";
import { chunksOf, chunkOutlines } from "./truncation.js";

// The fixed colour range (log10): the same colour means the same gradient in every model and
// sentence, so two models can be compared honestly. Values outside are drawn at the ends.
export const FIXED_LOG_RANGE = [-8, 2];

/** A log axis over FIXED_LOG_RANGE, labelled every 100×: 1e-8, 1e-6, … (short, and all alike). */
function fixedLogAxis() {
  const [lo, hi] = FIXED_LOG_RANGE, exps = [];
  for (let e = lo; e <= hi; e += 2) exps.push(e);
  return { range: [lo, hi], autorange: false, tickvals: exps.map((e) => 10 ** e),
    ticktext: exps.map((e) => `1e${e}`) };   // as the colour bar writes them
}

/** log10 of the flow matrix, null above the diagonal and where the gradient is exactly 0. */
export function logFlow(flow) {
  return flow.map((row, t) => row.map((v, s) => (s <= t && v > 0 ? Math.log10(v) : null)));
}

/** The summary's words for how BPTT ran (the trace's `truncation`). */
export function truncationSummary(tr) {
  if (tr.truncate == null) return "full BPTT";
  const chunks = chunksOf(tr);
  if (chunks) return `truncated BPTT: k = ${tr.truncate} steps, in ${chunks.length} chunk${chunks.length === 1 ? "" : "s"}`;
  return `truncated BPTT: k = ${tr.truncate} steps, sliding window`;
}

export class GradientsView {
  constructor(container, state) {
    this.container = container;
    this.state = state;
    this.trace = null;
    this.drawn = null;
    this.divs = [];
    this.cursors = new PlotCursors();
  }

  update(trace) {
    this.trace = trace;
    this.drawn = null;
    if (!this.container.hidden) this.draw();
  }

  summary(tr) {
    const box = el("div", { class: "grad-summary" });
    const clipped = tr.clip == null ? "clipping off" : tr.clipped
      ? `clipped: global norm ${fmt(tr.global_norm)} was scaled down to ${fmt(tr.clip)}`
      : `not clipped (global norm ${fmt(tr.global_norm)} ≤ ${fmt(tr.clip)})`;
    box.append(
      el("span", {}, `Global gradient norm ${fmt(tr.global_norm)} · ${clipped}`),
      el("span", {}, truncationSummary(tr)),
    );
    const norms = el("span", {}, "Parameter gradients: " + Object.entries(tr.grad_norms || {})
      .map(([k, v]) => `‖d${k}‖ = ${fmt(v)}`).join(" · "));
    box.append(norms);
    return box;
  }

  /** The toggle between a colour range fitted to this trace and the fixed one (state.gscale). */
  scaleToggle() {
    const [lo, hi] = FIXED_LOG_RANGE;
    const box = el("input", { type: "checkbox", id: "gscale-fixed" });
    box.checked = this.state.gscale === "fixed";
    box.addEventListener("change", () => this.state.set({ gscale: box.checked ? "fixed" : "auto" }));
    const label = el("label", { class: "scale-toggle", for: "gscale-fixed",
      title: "Off: the colours span this trace's own smallest to largest gradient. On: always 1e" +
        `${lo} to 1e${hi}, so two models or sentences can be compared (values outside take the end colours).` });
    label.append(box, document.createTextNode(` fixed scale 1e${lo}…1e${hi} (compare models)`));
    return label;
  }

  draw() {
    const tr = this.trace;
    if (!tr || this.drawn === tr) return;
    this.drawn = tr;
    clear(this.container);
    const T = tr.steps.length;
    const back = tr.backward.filter(Boolean);
    if (tr.backwardPending) {
      this.container.append(el("p", { class: "hint" }, "Computing the backward pass (BPTT)…"));
      return;
    }
    if (back.length < T) {
      this.container.append(el("p", { class: "hint" },
        "The typed characters have no backward pass yet: move to the backward phase (or press End) to compute BPTT."));
      return;
    }
    this.container.append(this.summary(tr), this.scaleToggle());
    const grid = el("div", { class: "plot-grid" });
    this.container.append(grid);
    const specs = this.specs(tr);
    mountPlots(this, grid, specs, tr, (s) => (s.wide ? "plot wide" : "plot"));
    if (!tr.grad_flow) {
      grid.append(el("p", { class: "hint" }, tr.flowRequested === false
        ? "Computing the gradient-flow matrix…"
        : "The gradient-flow matrix is not computed for sentences this long."));
    }
  }

  specs(tr) {
    const T = tr.steps.length;
    const x = [...Array(T).keys()];
    const tokens = hoverTokens(tr), tokenTicks = tickText(tr), at = "t=%{x} “%{customdata}”";
    const fixed = this.state.gscale === "fixed";
    const specs = [{
      name: "dh-norm", steps: "step t", ticks: tokenTicks,
      data: [{ type: "scatter", mode: "lines+markers", x, y: tr.backward.map((b) => b.dh_norm || null), customdata: tokens,
        line: { color: GRAD_COLOR, width: 3 }, hovertemplate: "‖dL/dh_%{x}‖ (“%{customdata}”) = %{y:.3e}<extra></extra>" }],
      layout: baseLayout("‖dL/dh_t‖ per step (log scale)", { xaxis: {}, hovermode: "x", yaxis: { type: "log", tickformat: ".2~g",
        title: { text: "norm" }, automargin: true, ...(fixed ? fixedLogAxis() : {}) } }),
    }, {
      name: "contrib", steps: "step t", ticks: tokenTicks,
      data: [
        { type: "bar", name: "step's ‖ΔW_hh‖", x, y: tr.backward.map((b) => b.contrib_norms.weight_hh),
          customdata: tokens, hovertemplate: `${at}: ‖ΔW_hh‖ = %{y:.3e}<extra></extra>`, marker: { color: GRAD_COLOR } },
        { type: "scatter", mode: "lines", name: "running ‖Σ ΔW_hh‖ (from the end back to t)", x, customdata: tokens,
          hovertemplate: `${at}: running ‖Σ ΔW_hh‖ = %{y:.3e}<extra></extra>`,
          y: tr.backward.map((b) => b.dW_hh_running_norm), line: { color: SHARED_W_COLOR, width: 3 } }],
      layout: baseLayout("contributions to dW_hh, summed right to left", { xaxis: {}, hovermode: "x",
        yaxis: { title: { text: "norm" } }, legend: { x: 1, xanchor: "right", y: 1, bgcolor: "rgba(0,0,0,0)" },
      }),
    }];
    if (tr.grad_flow) {
      const z = logFlow(tr.grad_flow);
      const vals = z.flat().filter((v) => v != null);
      const vmin = Math.floor(Math.min(...vals));
      const [lo, hi] = fixed ? FIXED_LOG_RANGE : [vmin, Math.max(vmin + 1, Math.ceil(Math.max(...vals)))];
      const ticks = [];
      for (let e = lo; e <= hi; e += Math.max(1, Math.ceil((hi - lo) / 6))) ticks.push(e);
      const pairs = z.map((row, t) => row.map((_, s) => [tokens[t], tokens[s]]));
      // Chunked truncation: each chunk's block on the diagonal, the only place gradients flow.
      const chunks = chunksOf(tr);
      const outline = getComputedStyle(document.documentElement).getPropertyValue("--fg").trim() || "#111";
      specs.push({
        name: "flow", wide: true, steps: "earlier state h_s", ticks: tokenTicks,
        data: [{ type: "heatmap", z, x, y: x, customdata: pairs, colorscale: PLOTLY_VIRIDIS, zmin: lo, zmax: hi,
          colorbar: { tickvals: ticks, ticktext: ticks.map((e) => `1e${e}`), thickness: 14, title: { text: "‖∂L_t/∂h_s‖" } },
          hovertemplate: "‖∂L_%{y}/∂h_%{x}‖ (“%{customdata[0]}” ← “%{customdata[1]}”) = 10^%{z:.2f}<extra></extra>" }],
        layout: baseLayout(chunks ? "gradient flow ‖∂L_t/∂h_s‖ (log colour): each loss reaches back only within its chunk (outlined)"
          : "gradient flow ‖∂L_t/∂h_s‖ (log colour): how far back each loss reaches", {
          height: Math.max(320, Math.min(540, 180 + T * 8)),
          shapes: chunks ? chunkOutlines(chunks, outline) : [],
          xaxis: {},
          yaxis: { title: { text: "loss L_t" }, autorange: "reversed" }, }),
      });
    }
    return specs;
  }

  /** The backward half of the trace arrived: draw the charts it was waiting for. */
  complete(trace) {
    this.update(trace);
  }

  reset() {
    this.trace = null;
    this.drawn = null;
    if (this.cancelDraws) this.cancelDraws();
    this.cursors.reset();
    clear(this.container);
  }

  render() {
    if (this.container.hidden) return;
    if (this.drawn !== this.trace) { this.draw(); return; }
    this.cursors.move(this.state.t);
  }
}
