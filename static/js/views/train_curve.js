// The Train panel's loss curve: the job's smoothed loss per character against the step (plotly,
// from the server's installed package), its snapshots as dots, the snapshot shown as a line.
import { loadPlotly, baseLayout, PLOT_CONFIG } from "../plots.js";

export class LossCurve {
  /** `onPick(index)`: a snapshot's dot was clicked. */
  constructor(div, onPick) {
    this.div = div;
    this.onPick = onPick;
    this.drawn = false;
    this.pending = null;
    this.busy = false;
  }

  /** Draw the status's history and snapshots, `selected` the index of the snapshot shown. */
  async update(status, selected) {
    this.pending = { status, selected };
    if (this.busy) return;          // a newer status is drawn once this draw is done
    this.busy = true;
    try {
      while (this.pending) {
        const { status: s, selected: sel } = this.pending;
        this.pending = null;
        await this.draw(s, sel);
      }
    } finally {
      this.busy = false;
    }
  }

  async draw(status, selected) {
    const Plotly = await loadPlotly();
    const hist = status.history || [];
    const snaps = (status.snapshots || []).filter((s) => s.loss != null);
    const css = getComputedStyle(document.documentElement);
    const accent = css.getPropertyValue("--accent").trim() || "#1f4e8c";
    const grid = css.getPropertyValue("--line").trim() || "#c9ced6";   // faint in either theme
    const data = [
      { x: hist.map((p) => p[0]), y: hist.map((p) => p[1]), type: "scatter", mode: "lines", name: "loss",
        line: { color: accent, width: 2.5 }, hovertemplate: "step %{x}<br>loss %{y:.4f}<extra></extra>" },
      { x: snaps.map((s) => s.step), y: snaps.map((s) => s.loss), type: "scatter", mode: "markers",
        name: "snapshots", marker: { size: 10, color: "#d95f02", line: { width: 1, color: "#fff" } },
        hovertemplate: "snapshot at step %{x}<br>loss %{y:.4f}<br>click to trace it<extra></extra>" },
    ];
    const pick = status.snapshots?.[selected];
    const shapes = pick ? [{ type: "line", xref: "x", yref: "paper", x0: pick.step, x1: pick.step, y0: 0, y1: 1,
      line: { color: "#d95f02", width: 2, dash: "dot" } }] : [];
    const layout = baseLayout("Loss per character (smoothed)", {
      height: 230, showlegend: false, shapes,
      xaxis: { title: { text: "step" }, range: [0, Math.max(1, status.steps)], zeroline: false, gridcolor: grid },
      yaxis: { title: { text: "loss" }, rangemode: "tozero", zeroline: false, gridcolor: grid },
      margin: { l: 56, r: 16, t: 36, b: 44 },
    });
    await Plotly.react(this.div, data, layout, PLOT_CONFIG);
    if (!this.drawn) {
      this.drawn = true;
      this.div.on("plotly_click", (ev) => {
        const pt = ev.points?.find((p) => p.curveNumber === 1);
        if (!pt) return;
        const index = (this.lastSnapshots || []).findIndex((s) => s.step === pt.x);
        if (index >= 0) this.onPick(index);
      });
    }
    this.lastSnapshots = status.snapshots || [];
  }
}
