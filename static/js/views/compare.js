// The same sentence through an RNN, an LSTM and a GRU, side by side (small multiples).
import { el, clear, fmt, showToken } from "../dom.js";
import { fetchTrace } from "../api.js";
import { PLOTLY_DIVERGING } from "../config.js";
import { loadPlotly, baseLayout, PLOT_CONFIG, stepAxis, axisWidth, tokenData } from "../plots.js";
import { unitsBySteps } from "./heatmaps.js";

const KINDS = ["rnn", "lstm", "gru"];

/** One model per cell kind, as close as possible to the current one (same task and vocabulary). */
export function pickComparable(models, current) {
  const ref = models.find((m) => m.id === current) || models[0];
  return KINDS.map((kind) => {
    const same = models.filter((m) => m.cell === kind);
    // Same vocabulary first (the sentence must be readable by every model), then same task.
    const score = (m) => (m.id === current ? 64 : 0) + (m.vocab_size === ref?.vocab_size ? 16 : 0) +
      (m.task === ref?.task ? 8 : 0) + (m.source === ref?.source ? 4 : 0) +
      (m.vocab_kind === ref?.vocab_kind ? 2 : 0) + (m.hidden_size === ref?.hidden_size ? 1 : 0);
    same.sort((a, b) => score(b) - score(a));
    const best = same[0];
    // A model with another vocabulary could not read the sentence: say so instead of failing.
    const readable = best && best.vocab_kind === ref?.vocab_kind && best.vocab_size === ref?.vocab_size;
    return { kind, model: readable ? best : null };
  });
}

export class CompareView {
  constructor(container, state) {
    this.container = container;
    this.state = state;
    this.models = [];
    this.key = null;
    this.gen = 0;
  }

  setModels(models) {
    this.models = models;
  }

  update() {
    this.key = null;
    if (!this.container.hidden) this.draw();
  }

  reset() {
    this.gen++;         // drop the traces still on their way
    this.key = null;
    clear(this.container);
  }

  render() {
    if (!this.container.hidden) this.draw();
  }

  /** Live typing: compare again once the student pauses. */
  append() {
    clearTimeout(this.appendTimer);
    this.appendTimer = setTimeout(() => this.update(), 600);
  }

  async draw() {
    const { model, text, clip, truncate } = this.state;
    const key = JSON.stringify([model, text, clip, truncate]);
    if (key === this.key || !text) return;
    this.key = key;
    const gen = ++this.gen;
    const picks = pickComparable(this.models, model);
    const grid = el("div", { class: "compare-grid" });
    clear(this.container).append(el("p", { class: "hint" },
      "The same sentence through each kind of cell: hidden state (units × steps) and the final prediction."), grid);
    const cols = picks.map(({ kind, model: m }) => {
      const col = el("div", { class: "compare-col", "data-cell": kind });
      col.append(el("h3", {}, m ? `${kind.toUpperCase()} · ${m.id}` : kind.toUpperCase()));
      if (!m) col.append(el("p", { class: "hint" }, `No ${kind.toUpperCase()} model with this vocabulary yet: train one on the same text to compare.`));
      grid.append(col);
      return col;
    });
    const Plotly = await loadPlotly();
    await Promise.all(picks.map(async ({ model: m }, i) => {
      if (!m) return;
      const col = cols[i];
      try {
        const tr = await fetchTrace({ model: m.id, text, clip, truncate, top_k: 3 });
        if (gen !== this.gen) return;
        const div = el("div", { class: "plot small" });
        col.append(div);
        const T = tr.steps.length;
        const layout = baseLayout("hidden state h", { height: 220,
          yaxis: { autorange: "reversed", title: { text: "unit" } } });
        layout.xaxis = stepAxis(tr.tokens, axisWidth(div, layout));
        await Plotly.newPlot(div, [{ type: "heatmap", z: unitsBySteps(tr.steps, "h", tr.hidden_size),
          x: [...Array(T).keys()], customdata: tokenData(tr.tokens, tr.hidden_size), colorscale: PLOTLY_DIVERGING,
          zmid: 0, showscale: false, hovertemplate: "h[%{y}] at t=%{x} “%{customdata}”: %{z:.3f}<extra></extra>" }],
        layout, PLOT_CONFIG);
        const last = tr.steps[T - 1];
        const preds = el("p", { class: "compare-pred" });
        preds.append(el("span", {}, "Final prediction: "));
        (last?.top || []).forEach((p, k) => {
          preds.append(el("span", { class: "chip static" }, showToken(p.token ?? String(p.index))),
            el("span", {}, ` ${fmt(p.p, 2)}${k < last.top.length - 1 ? "  " : ""}`));
        });
        col.append(preds, el("p", {}, `Total loss L = ${fmt(tr.loss)} · ‖dL/dh₀‖ reach: ` +
          `${fmt(tr.backward[0]?.dh_norm)} at t = 0`));
      } catch (e) {
        col.append(el("p", { class: "error-inline" }, `Could not trace: ${e.message}`));
      }
    }));
  }
}
