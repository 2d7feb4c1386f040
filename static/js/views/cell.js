// Inside the selected cell: every gate, the cell state and h, one column per hidden unit,
// on colour-blind-safe scales with a legend. In the backward phase the gradients join in.
import { svg, el, clear, fmt, boxWidth } from "../dom.js";
import { colorFor, diverging, inkFor } from "../colors.js";
import { DIVERGING, VIRIDIS } from "../config.js";

const LABEL_W = 70, HEAD_H = 22;

const ROWS = {
  lstm: [["i", "input gate i"], ["f", "forget gate f"], ["g", "candidate g"], ["o", "output gate o"],
    ["c", "cell state c"], ["h", "hidden state h"]],
  gru: [["r", "reset gate r"], ["z", "update gate z"], ["n", "candidate n"], ["h", "hidden state h"]],
  rnn: [["pre", "pre-activation a"], ["h", "hidden state h = tanh(a)"]],
};
const GRAD_ROWS = { lstm: [["dh", "dL/dh"], ["dc", "dL/dc"]], gru: [["dh", "dL/dh"]], rnn: [["dh", "dL/dh"]] };

/** The value of a named quantity for one step (forward record + backward record). */
export function quantity(step, back, name) {
  if (name === "h" || name === "c" || name === "pre") return step[name];
  if (name === "dh" || name === "dc") return back ? back[name] : null;
  return step.gates ? step.gates[name] : null;
}

function legend() {
  const box = el("div", { class: "legend" });
  const bar = (stops, lo, mid, hi, label) => {
    const item = el("div", { class: "legend-item" });
    const grad = el("span", { class: "legend-bar" });
    grad.style.background = `linear-gradient(to right, ${stops.join(",")})`;
    item.append(el("span", { class: "legend-label" }, label), el("span", {}, lo), grad, el("span", {}, hi));
    if (mid) item.title = mid;
    return item;
  };
  box.append(bar(VIRIDIS, "0", null, "1", "gates i f o r z (closed → open)"),
    bar(DIVERGING, "−", "blue negative, orange positive", "+", "signed values (g n c h a, gradients)"));
  return box;
}

export class CellView {
  constructor(container, state, { title = null, rowHeight = 32, model = () => null } = {}) {
    this.model = model;     // the model's summary: an RNN's nonlinearity names its h row
    this.container = container;
    this.rowHeight = rowHeight;
    this.state = state;
    this.title = title;
    this.trace = null;
    container.addEventListener("click", (ev) => {
      const c = ev.target.closest("[data-unit]");
      if (c) state.set({ unit: Number(c.dataset.unit) });
    });
    // Tooltips are written when hovered, not for every unit on every step.
    container.addEventListener("mouseover", (ev) => {
      const c = ev.target.closest("[data-unit]");
      if (c && ev.target.tagName === "rect") this.tooltip(c, ev.target);
    });
  }

  measure() {
    this.measured = this.container.clientWidth;
  }

  update(trace) {
    this.trace = trace;
    const H = trace.hidden_size;
    const kind = trace.cell;
    const ROW_H = this.rowHeight;
    const avail = Math.max(300, (boxWidth(this) || 600) - LABEL_W - 8);
    const cw = Math.max(9, Math.min(56, Math.floor(avail / H)));
    this.cw = cw;
    const relu = kind === "rnn" && this.model()?.nonlinearity === "relu";
    const rows = ROWS[kind].map(([name, label]) => [name, relu && name === "h" ? "hidden state h = ReLU(a)" : label]);
    this.rows = [...rows, ...GRAD_ROWS[kind]];
    const nF = ROWS[kind].length;
    const height = HEAD_H + this.rows.length * ROW_H + 14;
    const width = LABEL_W + H * cw + 4;
    const root = svg("svg", { class: "cellgrid", width, height, viewBox: `0 0 ${width} ${height}`,
      role: "img", "aria-label": `${kind.toUpperCase()} cell: values per unit` });
    const every = cw >= 24 ? 1 : Math.ceil(24 / cw);
    for (let k = 0; k < H; k += every) {
      root.append(svg("text", { class: "unit-idx", x: LABEL_W + k * cw + cw / 2, y: 15, "text-anchor": "middle" }, k));
    }
    this.cells = [];
    this.rows.forEach(([name, label], r) => {
      const y = HEAD_H + r * ROW_H + (r >= nF ? 10 : 0);
      const lab = svg("text", { class: r >= nF ? "row-label grad" : "row-label", x: LABEL_W - 8, y: y + ROW_H / 2 + 5,
        "text-anchor": "end" }, name === "pre" ? "a" : name);
      lab.append(svg("title", {}, label));
      root.append(lab);
      const row = [];
      for (let k = 0; k < H; k++) {
        const g = svg("g", { "data-unit": k });
        const rect = svg("rect", { x: LABEL_W + k * cw, y, width: cw - 1, height: ROW_H - 2, rx: 2 });
        g.append(rect);
        let txt = null;
        if (cw >= 40 && ROW_H >= 20) {
          txt = svg("text", { class: "val", x: LABEL_W + k * cw + cw / 2, y: y + ROW_H / 2 + 4, "text-anchor": "middle" });
          g.append(txt);
        }
        root.append(g);
        row.push({ rect, txt, fill: null, label: "" });
      }
      this.cells.push(row);
    });
    this.sel = svg("rect", { class: "unit-col", y: HEAD_H - 2, width: cw + 1, height: height - HEAD_H - 8, rx: 3 });
    root.append(this.sel);
    this.nF = nF;
    const wrap = el("div", { class: "cellgrid-scroll" });
    wrap.append(root);
    clear(this.container).append(wrap, legend());
    this.render();
  }

  reset() {
    this.trace = null;
    clear(this.container);
    if (this.title) this.title.textContent = "Inside the cell";
  }

  tooltip(group, rect) {
    const tr = this.trace, { t, phase } = this.state;
    const k = Number(group.dataset.unit);
    const r = this.cells.findIndex((row) => row[k] && row[k].rect === rect);
    if (r < 0 || !tr.steps[t]) return;
    const [name, label] = this.rows[r];
    const vals = quantity(tr.steps[t], phase === "backward" ? tr.backward[t] : null, name);
    const v = vals ? vals[k] : null;
    let tip = group.querySelector("title");
    if (!tip) { tip = svg("title"); group.append(tip); }
    tip.textContent = `${label}, unit ${k}, t = ${t}: ${v == null ? "shown in the backward phase" : fmt(v, 4)}`;
  }

  render() {
    const tr = this.trace;
    if (!tr) return;
    const { t, phase, unit } = this.state;
    const step = tr.steps[t];
    if (!step) return;
    const back = phase === "backward" ? tr.backward[t] : null;
    if (this.title) {
      this.title.textContent = `Inside the ${tr.cell.toUpperCase()} cell at t = ${t} (${phase})`;
    }
    this.rows.forEach(([name], r) => {
      const vals = quantity(step, back, name);
      const isGrad = r >= this.nF;
      const scale = isGrad && vals ? Math.max(1e-12, ...vals.map(Math.abs)) : name === "pre" || name === "c"
        ? Math.max(1, ...(vals || []).map(Math.abs)) : 1;
      this.cells[r].forEach((c, k) => {
        const v = vals ? vals[k] : null;
        const fill = v == null ? "transparent" : isGrad ? diverging(v, scale) : colorFor(name, v, scale);
        if (fill === c.fill) return;   // unchanged cells cost nothing while playing
        c.fill = fill;
        c.rect.setAttribute("fill", fill);
        c.rect.classList.toggle("empty", v == null);
        if (c.txt) {
          c.txt.textContent = v == null ? "" : fmt(v, 2);
          c.txt.setAttribute("fill", v == null ? "currentColor" : inkFor(fill));
        }
      });
    });
    this.sel.setAttribute("x", LABEL_W + Math.min(unit, tr.hidden_size - 1) * this.cw - 1);
  }
}
