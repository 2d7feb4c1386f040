// One step's vectors as the cell view draws them (one coloured box per unit, its number inside,
// the cell view's colour scales and legend), for the encoder–decoder and the tree. Long vectors
// wrap into blocks of units so every number stays readable on a 1024-px projector.
import { svg, el, clear, fmt } from "../dom.js";
import { colorFor, diverging, sequential, inkFor } from "../colors.js";
import { DIVERGING, VIRIDIS } from "../config.js";

const LABEL_W = 92, HEAD_H = 20, MIN_CW = 46, MAX_CW = 64;

/** The power of ten that brings a gradient row's largest entry into [1, 10). */
function exponent(values) {
  const m = Math.max(0, ...values.map(Math.abs));
  return m > 0 && (m < 0.01 || m >= 100) ? Math.floor(Math.log10(m)) : 0;
}

/** Two decimals, never an exponent (a box holds five characters): 3e−7 reads 0.00. */
function fixed2(v) {
  return (Math.abs(v) < 0.005 ? 0 : v).toFixed(2).replace("-", "−");
}

const SUPER = { "-": "⁻", 0: "⁰", 1: "¹", 2: "²", 3: "³", 4: "⁴", 5: "⁵", 6: "⁶", 7: "⁷", 8: "⁸", 9: "⁹" };
const superscript = (n) => String(n).split("").map((ch) => SUPER[ch]).join("");

function legend() {
  const box = el("div", { class: "legend" });
  const bar = (stops, lo, hi, label) => {
    const item = el("div", { class: "legend-item" });
    const grad = el("span", { class: "legend-bar" });
    grad.style.background = `linear-gradient(to right, ${stops.join(",")})`;
    item.append(el("span", { class: "legend-label" }, label), el("span", {}, lo), grad, el("span", {}, hi));
    return item;
  };
  box.append(bar(VIRIDIS, "0", "1", "gates, probabilities"), bar(DIVERGING, "−", "+", "signed values, gradients"));
  return box;
}

/**
 * rows: [{name, label, values, kind: "gate" | "signed" | "grad", note?}]. A "grad" row's numbers
 * are shown ×10^k (its label says k) so 0.00003 reads as 3.00 and not as 0.00.
 */
export class StepGrid {
  constructor(container, { rowHeight = 30, compact = false } = {}) {
    this.container = container;
    this.rowHeight = rowHeight;
    this.compact = compact;
  }

  clear() {
    clear(this.container);
  }

  show(rows) {
    rows = rows.filter((r) => r.values && r.values.length);
    const H = Math.max(1, ...rows.map((r) => r.values.length));
    const avail = Math.max(320, (this.container.clientWidth || 700) - LABEL_W - 8);
    const perBlock = Math.max(4, Math.min(H, Math.floor(avail / MIN_CW)));
    const blocks = Math.ceil(H / perBlock);
    const per = Math.ceil(H / blocks);              // balanced blocks: 16 + 16, not 23 + 9
    const cw = Math.max(MIN_CW, Math.min(MAX_CW, Math.floor(avail / per)));
    const RH = this.rowHeight, blockH = HEAD_H + rows.length * RH + 10;
    const width = LABEL_W + per * cw + 4, height = blocks * blockH;
    const root = svg("svg", { class: "cellgrid stepgrid", width, height, viewBox: `0 0 ${width} ${height}`,
      role: "img", "aria-label": rows.map((r) => r.label).join(", ") });
    const scaled = rows.map((r) => {
      const k = r.kind === "grad" ? exponent(r.values) : 0;
      const max = Math.max(1e-300, ...r.values.map(Math.abs));
      const scale = r.kind === "grad" ? max : r.name === "c" || r.name === "pre" ? Math.max(1, max) : 1;
      return { ...r, k, scale };
    });
    for (let b = 0; b < blocks; b++) {
      const y0 = b * blockH, from = b * per, to = Math.min(H, from + per);
      for (let u = from; u < to; u++) {
        root.append(svg("text", { class: "unit-idx", x: LABEL_W + (u - from) * cw + cw / 2, y: y0 + 14,
          "text-anchor": "middle" }, u));
      }
      scaled.forEach((r, i) => {
        const y = y0 + HEAD_H + i * RH;
        const name = r.k ? `${r.name} ×10${superscript(-r.k)}` : r.name;
        const lab = svg("text", { class: r.kind === "grad" ? "row-label grad" : "row-label", x: LABEL_W - 8,
          y: y + RH / 2 + 5, "text-anchor": "end", "data-row": r.name }, name);
        lab.append(svg("title", {}, r.k ? `${r.label} (numbers shown ×10^${-r.k})` : r.label));
        root.append(lab);
        for (let u = from; u < Math.min(to, r.values.length); u++) {
          const v = r.values[u];
          const fill = r.kind === "grad" ? diverging(v, r.scale) : r.kind === "gate" ? sequential(v)
            : colorFor(r.name, v, r.scale);
          const x = LABEL_W + (u - from) * cw;
          const g = svg("g", { "data-unit": u, "data-row": r.name });
          g.append(svg("rect", { x, y, width: cw - 1, height: RH - 2, rx: 2, fill }),
            svg("text", { class: "val", x: x + cw / 2, y: y + RH / 2 + 5, "text-anchor": "middle",
              style: `fill: ${inkFor(fill)}` }, fixed2(r.k ? v / 10 ** r.k : v)),
            svg("title", {}, `${r.label}, unit ${u}: ${fmt(v, 6)}`));
          root.append(g);
        }
      });
    }
    const wrap = el("div", { class: "cellgrid-scroll" });
    wrap.append(root);
    clear(this.container).append(wrap);
    if (!this.compact) this.container.append(legend());
  }
}
