// The recursive (tree) network: the phrase's tree with the leaves at the bottom. Forward computes
// the nodes in order, children before parents (p = tanh(W [c_l; c_r] + b)), so values flow up;
// backward goes from the root down, the gradient flowing to each node's children. The selected
// node's vectors are shown as the cell view shows them, with its equation and every node's
// prediction. The player's t is a node's place in that order (kinds.js).
import { el, svg, clear, fmt, showToken } from "../dom.js";
import { diverging } from "../colors.js";
import { StepGrid } from "./stepgrid.js";

const LEVEL_H = 74, BOX_H = 50, TOP = 46, MIN_COL = 92, MAX_COL = 150;

/** Leaves' x from their position in the sentence; a parent above the middle of its children. */
function layout(nodes) {
  const height = new Map(), pos = new Map();
  let leaf = 0;
  for (const n of nodes) {   // post-order: children come first
    if (!n.children.length) { height.set(n.id, 0); pos.set(n.id, leaf++); continue; }
    height.set(n.id, 1 + Math.max(...n.children.map((c) => height.get(c))));
    pos.set(n.id, n.children.reduce((a, c) => a + pos.get(c), 0) / n.children.length);
  }
  return { height, pos, leaves: leaf, levels: Math.max(...height.values()) + 1 };
}

function probColor(node, labels) {
  // two classes: blue (the first) … orange (the second), colour-blind safe; more: neutral
  return labels.length === 2 ? diverging(node.probs[1] - node.probs[0], 1) : "var(--cell)";
}

export class TreePage {
  constructor(container, state, { embed = false } = {}) {
    this.container = container;
    this.state = state;
    this.embed = embed;
    this.trace = null;
    const head = el("div", { class: "panel-head" });
    this.ledger = el("span", { class: "ledger", "data-tree-ledger": "" });
    head.append(el("h2", {}, "The tree network"),
      el("button", { type: "button", class: "info", "data-explain": "tree", "aria-label": "About this view" }, "i"),
      this.ledger);
    this.note = el("p", { class: "hint tree-note" });
    this.scroll = el("div", { class: "tree-scroll" });
    this.scroll.addEventListener("click", (ev) => {
      const g = ev.target.closest("g.tnode");
      if (g) state.set({ t: Number(g.dataset.i) });
    });
    const cols = el("div", { class: embed ? "kind-cols embed-cols" : "kind-cols" });
    const left = el("div", { class: "kind-sub" });
    this.nodeTitle = el("h3", { class: "step-title" });
    this.gridBox = el("div", { class: "step-grid" });
    left.append(this.nodeTitle, this.gridBox);
    this.grid = new StepGrid(this.gridBox, { rowHeight: embed ? 24 : 30, compact: embed });
    const right = el("div", { class: "kind-sub" });
    this.eqs = el("div", { class: "kind-eqs" });
    right.append(el("h3", {}, "Equation and prediction"), this.eqs);
    cols.append(left, right);
    if (embed) right.hidden = true;
    container.append(head, this.note, this.scroll, cols);
  }

  update(trace) {
    this.trace = trace;
    const { height, pos, leaves, levels } = layout(trace.nodes);
    const avail = Math.max(500, (this.scroll.clientWidth || 900) - 20);
    const col = Math.max(MIN_COL, Math.min(MAX_COL, Math.floor(avail / leaves)));
    const width = col * leaves + 20, H = TOP + (levels - 1) * LEVEL_H + BOX_H + 34;
    this.xy = trace.nodes.map((n) => [10 + pos.get(n.id) * col + col / 2,
      TOP + (levels - 1 - height.get(n.id)) * LEVEL_H]);
    const root = svg("svg", { class: "tree", width, height: H, viewBox: `0 0 ${width} ${H}`, role: "img",
      "aria-label": `Tree of ${trace.words.length} words, ${trace.nodes.length} nodes` });
    const edges = svg("g", { class: "edges" });
    root.append(edges);
    this.edges = [];
    this.byId = new Map(trace.nodes.map((n, i) => [n.id, i]));
    trace.nodes.forEach((n, i) => {
      for (const c of n.children) {
        const [x1, y1] = this.xy[this.byId.get(c)], [x2, y2] = this.xy[i];
        const line = svg("line", { class: "edge", x1, y1, x2, y2: y2 + BOX_H, "data-parent": i,
          "data-child": this.byId.get(c) });
        edges.append(line);
        this.edges.push(line);
      }
    });
    const bw = Math.min(col - 10, 130);
    this.nodes = trace.nodes.map((n, i) => {
      const [x, y] = this.xy[i];
      const leaf = !n.children.length;
      const g = svg("g", { class: `tnode${leaf ? " leaf" : ""}${n.unknown ? " unknown" : ""}`, "data-i": i,
        "data-id": n.id });
      const fill = probColor(n, trace.labels);
      g.append(svg("rect", { class: "tbox", x: x - bw / 2, y, width: bw, height: BOX_H, rx: 8 }),
        svg("rect", { class: "tpred", x: x - bw / 2 + 4, y: y + BOX_H - 16, width: bw - 8, height: 12, rx: 3, fill }));
      const hw = (bw - 8) / n.h.length, scale = Math.max(1, ...n.h.map(Math.abs));
      n.h.forEach((v, k) => g.append(svg("rect", { class: "mini", x: x - bw / 2 + 4 + k * hw, y: y + 22,
        width: Math.max(1, hw - 1), height: 10, fill: diverging(v, scale) })));
      g.append(svg("text", { class: leaf ? "word" : "plabel", x, y: y + 17, "text-anchor": "middle" },
        leaf ? showToken(n.word) : `${n.predicted_label} ${fmt(n.top[0].p, 2)}`));
      if (leaf) {
        g.append(svg("text", { class: "plabel small", x, y: y + BOX_H + 16, "text-anchor": "middle" },
          `${n.predicted_label} ${fmt(n.top[0].p, 2)}`));
      }
      g.append(svg("text", { class: "norm", x, y: y - 6, "text-anchor": "middle" }));
      g.append(svg("title", {}, `${n.phrase}: ${n.predicted_label} (p = ${fmt(n.top[0].p, 3)})`));
      root.append(g);
      return g;
    });
    this.cursor = null;
    clear(this.scroll).append(root);
    this.note.textContent = trace.default_tree
      ? `No brackets: read as the right-branching tree ${trace.bracketed}. Type brackets to choose another tree.`
      : `Read as ${trace.bracketed}`;
    this.render();
  }

  reset(reason = "") {
    this.trace = null;
    clear(this.scroll);
    this.grid.clear();
    clear(this.eqs);
    this.nodeTitle.textContent = "";
    this.note.textContent = "";
    this.ledger.textContent = reason;
  }

  render() {
    const tr = this.trace;
    if (!tr) return;
    const N = tr.nodes.length, i = Math.min(this.state.t, N - 1), back = this.state.phase === "backward";
    const bn = tr.backward.nodes;
    const norms = bn.map((b) => b.dh_norm).filter((v) => v > 0);
    const lo = norms.length ? Math.min(...norms) : 1e-12, hi = norms.length ? Math.max(...norms) : 1;
    const width = (v) => (v > 0 ? 1.5 + 10 * (hi > lo ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : 1) : 1.5);
    this.nodes.forEach((g, k) => {
      g.classList.toggle("current", k === i);
      g.classList.toggle("future", !back && k > i);
      g.classList.toggle("grad-on", back && k >= i);
      g.querySelector(".norm").textContent = back && k >= i ? `‖∂h‖ ${fmt(bn[k].dh_norm, 1)}` : "";
    });
    for (const e of this.edges) {
      const p = Number(e.dataset.parent), c = Number(e.dataset.child);
      const on = back && p >= i;             // the parent's backward step sent its child a gradient
      e.classList.toggle("grad", on);
      e.classList.toggle("into", !back && p === i);
      e.classList.toggle("future", !back && p > i);
      e.setAttribute("stroke-width", on ? width(bn[c].dh_norm) : p === i ? 4 : 2.5);
    }
    const root = tr.nodes[N - 1];
    this.ledger.textContent = `root: ${root.predicted_label} (p = ${fmt(root.top[0].p, 3)}) · loss against ` +
      `“${tr.target_label}” = ${fmt(tr.loss, 4)}`;
    this.renderNode(i, back);
  }

  renderNode(i, back) {
    const tr = this.trace, n = tr.nodes[i], b = tr.backward.nodes[i];
    const leaf = !n.children.length;
    this.nodeTitle.textContent = `${leaf ? "Leaf" : "Node"} ${n.id}: “${n.phrase}” (${back ? "backward" : "forward"})`;
    const rows = [{ name: "h", label: leaf ? "word vector h = embedding[word]" : "p = tanh(W [c_l; c_r] + b)",
      values: n.h, kind: "signed" },
    { name: "P", label: `class probabilities (${tr.labels.join(", ")})`, values: n.probs, kind: "gate" }];
    if (back) {
      rows.push({ name: "dh", label: "dL/dh (total)", values: b.dh, kind: "grad" });
      if (b.dpre) rows.push({ name: "da", label: "dL/da (before tanh)", values: b.dpre, kind: "grad" });
      if (i === tr.nodes.length - 1) rows.push({ name: "dh_head", label: "dL/dh from the root's head", values: b.dh_head, kind: "grad" });
    }
    this.grid.show(rows);
    clear(this.eqs);
    const line = (text, cls = "eq") => this.eqs.append(el("div", { class: cls }, text));
    if (leaf) {
      line(`h = embedding[“${showToken(n.word)}”]${n.unknown ? ` (unknown: read as ${n.seen_as == null ? "the zero vector" : n.seen_as})` : ""}`);
    } else {
      const [l, r] = n.children.map((c) => tr.nodes[this.byId.get(c)].phrase);
      line(`p = tanh(W [h(${l}); h(${r})] + b)   ‖p‖ = ${fmt(Math.hypot(...n.h))}`);
    }
    line(`softmax(head.weight h + head.bias) = ${n.top.map((o) => `${o.token} ${fmt(o.p, 3)}`).join(" · ")}`);
    if (back) {
      line(`∂L/∂h: ‖·‖ = ${fmt(b.dh_norm)}${i === tr.nodes.length - 1 ? " (from the loss at the root)" : " (from its parent)"}`);
    }
    const list = el("ol", { class: "tree-preds", start: 0 });
    tr.nodes.forEach((m, k) => {
      const li = el("li", { class: k === i ? "current" : "" });
      li.append(el("span", { class: "tok" }, m.phrase), ` → ${m.predicted_label} ${fmt(m.top[0].p, 2)}`);
      list.append(li);
    });
    this.eqs.append(el("h3", {}, "Every node's prediction, in computation order"), list);
  }
}
