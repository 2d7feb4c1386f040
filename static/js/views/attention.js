// The attention of an encoder–decoder: the α matrix as a heatmap (decoder steps × source tokens,
// each α written in its box), and the what-if editor for one decoder step (sliders, or a click on
// a box or a source token puts all the weight there). The what-if itself is the engine's
// (POST /api/seq2seq/whatif, asked by the page): this view only draws α, α′ and the answer.
import { el, svg, clear, fmt, showToken } from "../dom.js";
import { sequential, inkFor } from "../colors.js";

const LABEL_W = 128, HEAD_H = 34;

export class AttentionPanel {
  constructor(container, { onFocus, onAlpha, compact = false }) {
    this.container = container;
    this.onFocus = onFocus;         // (t, s): all of step t's attention on source s
    this.onAlpha = onAlpha;         // (t, weights): step t's weights (normalised by the page)
    this.compact = compact;
    this.trace = null;
  }

  update(trace) {
    this.trace = trace;
    clear(this.container);
    if (!trace.attention) return;
    const S = trace.encoder.length, T = trace.decoder.length;
    const avail = Math.max(260, (this.container.clientWidth || 480) - LABEL_W - 8);
    const cs = Math.max(30, Math.min(52, Math.floor(avail / S)));
    const rh = Math.max(24, Math.min(36, cs));
    const width = LABEL_W + S * cs + 4, height = HEAD_H + T * rh + 4;
    const root = svg("svg", { class: "alpha-map", width, height, viewBox: `0 0 ${width} ${height}`,
      role: "img", "aria-label": `Attention weights α: ${T} decoder steps × ${S} source tokens` });
    trace.encoder.forEach((e, s) => root.append(svg("text", { class: "src", x: LABEL_W + s * cs + cs / 2,
      y: HEAD_H - 10, "text-anchor": "middle" }, showToken(e.token))));
    this.rows = [];
    trace.decoder.forEach((d, t) => {
      const y = HEAD_H + t * rh;
      root.append(svg("text", { class: "tgt", x: LABEL_W - 8, y: y + rh / 2 + 5, "text-anchor": "end" },
        `${t}: ${showToken(d.input_token)} → ${showToken(d.predicted_token)}`));
      const row = [];
      for (let s = 0; s < S; s++) {
        const g = svg("g", { class: "alpha-cell", "data-t": t, "data-s": s });
        const rect = svg("rect", { x: LABEL_W + s * cs, y, width: cs - 2, height: rh - 2, rx: 3 });
        const txt = svg("text", { class: "val", x: LABEL_W + s * cs + cs / 2 - 1, y: y + rh / 2 + 4,
          "text-anchor": "middle" });
        const tip = svg("title");
        g.append(rect, txt, tip);
        root.append(g);
        row.push({ rect, txt, tip });
      }
      this.rows.push(row);
    });
    this.rowBox = svg("rect", { class: "row-cursor", x: LABEL_W - 3, width: S * cs + 4, height: rh + 2, rx: 4 });
    root.append(this.rowBox);
    this.rh = rh;
    root.addEventListener("click", (ev) => {
      const g = ev.target.closest("g.alpha-cell");
      if (g) this.onFocus(Number(g.dataset.t), Number(g.dataset.s));
    });
    const head = el("p", { class: "hint" }, "α: how much each decoder step (row) looks at each source token (column). "
      + "Click a box to put all of that step's attention there.");
    const map = el("div", { class: "alpha-scroll" });
    map.append(root);
    this.editor = el("div", { class: "alpha-editor" });
    this.container.append(head, map);
    if (!this.compact) this.container.append(this.editor);
    this.editorFor = null;
  }

  reset() {
    this.trace = null;
    clear(this.container);
  }

  /** t: the decoder step shown (null on the encoder side); whatif: {t, alpha} or null. */
  render(t, whatif) {
    const tr = this.trace;
    if (!tr || !tr.attention) return;
    tr.decoder.forEach((d, u) => {
      const mine = whatif && whatif.t === u ? whatif.alpha : null;
      (mine || d.alpha).forEach((a, s) => {
        const c = this.rows[u][s], fill = sequential(a);
        c.rect.setAttribute("fill", fill);
        c.rect.classList.toggle("mine", !!mine);
        c.txt.style.fill = inkFor(fill);      // inline: the theme's text colour rule must not win
        c.txt.textContent = a >= 0.995 ? "1" : a < 0.005 ? "0" : fmt(a, 2).replace(/^0/, "");
        c.tip.textContent = `${mine ? "α′ (set by you)" : "α"} step ${u}, source ${s} “${showToken(tr.encoder[s].token)}”: ${fmt(a, 6)}`;
      });
    });
    this.rowBox.toggleAttribute("hidden", t == null);
    if (t != null) this.rowBox.setAttribute("y", HEAD_H + t * this.rh - 2);
    this.renderEditor(t, whatif);
  }

  /** Sliders for step t's weights (what the what-if uses, or the model's own). */
  renderEditor(t, whatif) {
    const tr = this.trace;
    const alpha = t == null ? null : whatif && whatif.t === t ? whatif.alpha : tr.decoder[t].alpha;
    const key = t == null ? "none" : `${t}|${alpha.join(",")}`;
    if (key === this.editorFor || this.compact) return;
    this.editorFor = key;
    clear(this.editor);
    if (t == null) {
      this.editor.append(el("p", { class: "hint" }, "Step to a decoder step to change its attention."));
      return;
    }
    this.editor.append(el("h3", {}, `Change step ${t}'s attention (the weights are scaled to sum to 1)`));
    const grid = el("div", { class: "alpha-sliders" });
    const inputs = alpha.map((a, s) => {
      const label = el("label", { class: "alpha-slider" });
      const input = el("input", { type: "range", min: "0", max: "100", step: "1", value: String(Math.round(a * 100)),
        "aria-label": `α weight on source ${s}`, "data-s": s });
      label.append(el("span", { class: "tok" }, showToken(tr.encoder[s].token)), input,
        el("span", { class: "num" }, `${Math.round(a * 100)}%`));
      grid.append(label);
      return input;
    });
    const send = () => {
      const w = inputs.map((i) => Number(i.value));
      if (w.some((x) => x > 0)) this.onAlpha(t, w);
    };
    for (const input of inputs) {
      input.addEventListener("input", () => { input.nextSibling.textContent = `${input.value}%`; });
      input.addEventListener("change", send);
    }
    this.editor.append(grid);
  }
}
