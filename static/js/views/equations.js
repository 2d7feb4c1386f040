// The selected unit's equations at the selected step, with that step's actual numbers, forward and
// backward; plus a "check gradient" button that asks the server for a finite-difference comparison.
import { el, clear, fmt } from "../dom.js";
import { gradcheck } from "../api.js";
import { acrossChunks } from "./truncation.js";

const SUB = "₀₁₂₃₄₅₆₇₈₉", SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹";
export const sub = (n) => (n < 0 ? "₋" + sub(-n) : String(n).split("").map((d) => SUB[d]).join(""));
const sup = (n) => String(n).split("").map((d) => SUP[d]).join("");
const UNSUB = Object.fromEntries([...SUB].map((c, i) => [c, i]));
/** "₁₂" -> "₁₁" (t − 1, as a subscript; "₋₁" before step 0). */
const prevSub = (T) => sub(Number([...T].map((c) => UNSUB[c]).join("")) - 1);

/**
 * How the equations name things in this trace: the previous state is h_{t−1}, or h_{t+1} in a
 * reverse direction (it reads the sentence right to left); a layer above the first reads the
 * layer below's h⁽ˡ⁻¹⁾_t, not x_t; an RNN's activation is tanh or ReLU.
 */
export function notation(tr, nonlinearity = "tanh") {
  const reverse = tr.direction === 1, layer = tr.layer ?? 0;
  const top = layer === (tr.num_layers ?? 1) - 1;
  return {
    reverse,
    prev: (t) => (reverse ? t + 1 : t - 1),    // where this step's recurrent input comes from
    next: (t) => (reverse ? t - 1 : t + 1),    // where its state goes (and its gradient comes from)
    // a layer above a bidirectional one reads both its directions side by side; a Jordan cell
    // reads the previous output too
    input: (T) => (layer > 0 ? (tr.bidirectional ? `[h→⁽${sup(layer - 1)}⁾${T}; h←⁽${sup(layer - 1)}⁾${T}]`
      : `h⁽${sup(layer - 1)}⁾${T}`) : tr.jordan ? `[x${T}; y${prevSub(T)}]` : `x${T}`),
    relu: nonlinearity === "relu",
    from: (T) => (top ? `ŷ${T}` : `layer ${layer + 1} above`),
  };
}
/** A number inside a product: negative values get parentheses, so "×(−0.96)" never reads "×−". */
const n = (v) => (v < 0 ? `(${fmt(v)})` : fmt(v));
const sig = (v) => `${n(v)}·(1−${n(v)})`;

/** Agree within rounding? Then the chain of numbers ends with a check mark. */
function agrees(a, b) {
  return a != null && b != null && Math.abs(a - b) <= 1e-6 + 1e-4 * Math.max(Math.abs(a), Math.abs(b));
}

/** Forward lines [lhs, formula, numbers, value] for one unit of one step. */
export function forwardLines(tr, t, u, nonlinearity = "tanh") {
  const nt = notation(tr, nonlinearity);
  const s = tr.steps[t], p = tr.steps[nt.prev(t)] || null;
  const T = sub(t), P = sub(nt.prev(t)), g = s.gates || {}, x = nt.input(T);
  const hPrev = p ? p.h[u] : 0;
  const z = `W·[${x}, h${P}] + b`;
  switch (tr.cell) {
    case "lstm": {
      const cPrev = p ? p.c[u] : 0;
      const pw = tr.peepholes;
      if (pw) {
        // peephole (engine/cells/lstm.py): the gates also read the cell state, through w_c*
        const peep = (w, c, cName) => `… + ${w}⊙${cName} = … + ${n(pw[w][u])}×${n(c)} = … + ${fmt(pw[w][u] * c)}`;
        return [
          [`i${T}`, `σ(${z} + w_ci⊙c${P})ᵢ`, peep("w_ci", cPrev, `c${P}`), g.i[u]],
          [`f${T}`, `σ(${z} + w_cf⊙c${P})_f`, peep("w_cf", cPrev, `c${P}`), g.f[u]],
          [`g${T}`, `tanh(${z})_g`, "", g.g[u]],
          [`c${T}`, `f${T}⊙c${P} + i${T}⊙g${T}`, `${n(g.f[u])}×${n(cPrev)} + ${n(g.i[u])}×${n(g.g[u])}`, s.c[u],
            g.f[u] * cPrev + g.i[u] * g.g[u]],
          [`o${T}`, `σ(${z} + w_co⊙c${T})ₒ`, peep("w_co", s.c[u], `c${T}`), g.o[u]],
          [`h${T}`, `o${T}⊙tanh(c${T})`, `${n(g.o[u])}×tanh(${n(s.c[u])})`, s.h[u], g.o[u] * Math.tanh(s.c[u])],
        ];
      }
      return [
        [`i${T}`, `σ(${z})ᵢ`, "", g.i[u]],
        [`f${T}`, `σ(${z})_f`, "", g.f[u]],
        [`g${T}`, `tanh(${z})_g`, "", g.g[u]],
        [`o${T}`, `σ(${z})ₒ`, "", g.o[u]],
        [`c${T}`, `f${T}⊙c${P} + i${T}⊙g${T}`, `${n(g.f[u])}×${n(cPrev)} + ${n(g.i[u])}×${n(g.g[u])}`, s.c[u],
          g.f[u] * cPrev + g.i[u] * g.g[u]],
        [`h${T}`, `o${T}⊙tanh(c${T})`, `${n(g.o[u])}×tanh(${n(s.c[u])})`, s.h[u], g.o[u] * Math.tanh(s.c[u])],
      ];
    }
    case "gru":
      return [
        [`r${T}`, `σ(W_ir ${x} + b_ir + W_hr h${P} + b_hr)`, "", g.r[u]],
        [`z${T}`, `σ(W_iz ${x} + b_iz + W_hz h${P} + b_hz)`, "", g.z[u]],
        [`n${T}`, `tanh(W_in ${x} + b_in + r${T}⊙(W_hn h${P} + b_hn))`, "", g.n[u]],
        [`h${T}`, `(1−z${T})⊙n${T} + z${T}⊙h${P}`, `(1−${n(g.z[u])})×${n(g.n[u])} + ${n(g.z[u])}×${n(hPrev)}`,
          s.h[u], (1 - g.z[u]) * g.n[u] + g.z[u] * hPrev],
      ];
    default: {
      const a = [`a${T}`, `W_ih ${x} + b_ih + W_hh h${P} + b_hh`, `… + W_hh·h${P} (h${P}[${u}] = ${fmt(hPrev)})`, s.pre[u]];
      return [a, nt.relu
        ? [`h${T}`, `ReLU(a${T}) = max(0, a${T})`, `max(0, ${n(s.pre[u])})`, s.h[u], Math.max(0, s.pre[u])]
        : [`h${T}`, `tanh(a${T})`, `tanh(${n(s.pre[u])})`, s.h[u], Math.tanh(s.pre[u])]];
    }
  }
}

/** Backward lines: the gradients arriving at this step and the gate gradients they imply. */
export function backwardLines(tr, t, u, nonlinearity = "tanh") {
  const b = tr.backward[t];
  if (!b) return [];
  const nt = notation(tr, nonlinearity);
  const s = tr.steps[t], p = tr.steps[nt.prev(t)] || null, g = s.gates || {}, dg = b.dgates || {};
  const T = sub(t), P = sub(nt.prev(t));
  const dh = b.dh[u];
  // The last step of a chunk (chunked truncation) gets nothing from the next step: it is detached.
  const cut = acrossChunks(tr, t, nt.next(t));
  const lines = [[`dL/dh${T}`, cut ? `from ${nt.from(T)} only (step ${nt.next(t)} is in the next chunk: no gradient crosses)`
    : `from ${nt.from(T)} and from step ${nt.next(t)} through W_hh`, "", dh]];
  if (tr.cell === "lstm") {
    const dc = b.dc[u], cPrev = p ? p.c[u] : 0;
    lines.push(
      [`dL/dc${T}`, `dL/dh${T}·o${T}·(1−tanh²c${T})` + (tr.peepholes ? " + dL/da_o·w_co" : "") +
        (cut ? " (nothing from the next chunk)" : ` + from c${sub(nt.next(t))}`) +
        (tr.peepholes && !cut ? " (through f and the peepholes w_ci, w_cf)" : ""), "", dc],
      [`dL/da_o`, `dL/dh${T}·tanh(c${T})·o(1−o)`, `${n(dh)}×${n(Math.tanh(s.c[u]))}×${sig(g.o[u])}`, dg.o?.[u],
        dh * Math.tanh(s.c[u]) * g.o[u] * (1 - g.o[u])],
      [`dL/da_f`, `dL/dc${T}·c${P}·f(1−f)`, `${n(dc)}×${n(cPrev)}×${sig(g.f[u])}`, dg.f?.[u],
        dc * cPrev * g.f[u] * (1 - g.f[u])],
      [`dL/da_i`, `dL/dc${T}·g${T}·i(1−i)`, `${n(dc)}×${n(g.g[u])}×${sig(g.i[u])}`, dg.i?.[u],
        dc * g.g[u] * g.i[u] * (1 - g.i[u])],
      [`dL/da_g`, `dL/dc${T}·i${T}·(1−g²)`, `${n(dc)}×${n(g.i[u])}×(1−${n(g.g[u])}²)`, dg.g?.[u],
        dc * g.i[u] * (1 - g.g[u] ** 2)],
    );
  } else if (tr.cell === "gru") {
    const hPrev = p ? p.h[u] : 0;
    lines.push(
      [`dL/da_z`, `dL/dh${T}·(h${P} − n${T})·z(1−z)`, `${n(dh)}×(${n(hPrev)}−${n(g.n[u])})×${sig(g.z[u])}`,
        dg.z?.[u], dh * (hPrev - g.n[u]) * g.z[u] * (1 - g.z[u])],
      [`dL/da_n`, `dL/dh${T}·(1−z${T})·(1−n²)`, `${n(dh)}×(1−${n(g.z[u])})×(1−${n(g.n[u])}²)`, dg.n?.[u],
        dh * (1 - g.z[u]) * (1 - g.n[u] ** 2)],
      [`dL/da_r`, `dL/da_n·(W_hn h${P} + b_hn)·r(1−r)`, "", dg.r?.[u]],
    );
  } else if (nt.relu) {
    const on = s.pre[u] > 0 ? 1 : 0;    // ReLU's slope: 1 where a > 0, else 0
    lines.push([`dL/da${T}`, `dL/dh${T}·[a${T} > 0]`, `${n(dh)}×${on}`, dg.pre?.[u], dh * on]);
  } else {
    lines.push([`dL/da${T}`, `dL/dh${T}·(1−h${T}²)`, `${n(dh)}×(1−${n(s.h[u])}²)`, dg.pre?.[u],
      dh * (1 - s.h[u] ** 2)]);
  }
  return lines;
}

function lineNode([lhs, formula, numbers, value, recomputed]) {
  const row = el("div", { class: "eq" });
  row.append(el("span", { class: "eq-lhs" }, lhs), el("span", { class: "eq-op" }, " = "),
    el("span", { class: "eq-formula" }, formula));
  if (numbers) row.append(el("span", { class: "eq-op" }, " = "), el("span", { class: "eq-num" }, numbers));
  row.append(el("span", { class: "eq-op" }, " = "), el("strong", { class: "eq-val" }, fmt(value, 4)));
  if (recomputed !== undefined && agrees(value, recomputed)) {
    row.append(el("span", { class: "eq-ok", title: "the numbers above reproduce this value" }, " ✓"));
  }
  return row;
}

/** One sentence on what is shown, for a stacked or bidirectional model. */
export function layerNote(tr) {
  const L = tr.num_layers ?? 1, layer = tr.layer ?? 0, parts = [];
  if (L > 1 || tr.bidirectional) {
    parts.push(`Layer ${layer} of 0…${L - 1}${tr.bidirectional ? (tr.direction ? ", reverse direction" : ", forward direction") : ""}.`);
  }
  if (layer > 0) {
    parts.push(`Its input at step t is h⁽${sup(layer - 1)}⁾ₜ, the hidden state of layer ${layer - 1} below` +
      `${tr.bidirectional ? " (both directions side by side)" : ""}, not x_t.`);
  }
  if (tr.direction === 1) {
    parts.push(`It reads the sentence right to left: the previous state of step t is h_{t+1}, ` +
      `and it starts from h${sub(tr.steps.length)} = 0.`);
  }
  return parts.join(" ");
}

export class EquationsView {
  /** `model()` answers the model's summary from /api/models (for an RNN's nonlinearity). */
  constructor(container, state, { model = () => null } = {}) {
    this.container = container;
    this.state = state;
    this.model = model;
    this.trace = null;
  }

  get nonlinearity() {
    const m = this.model();
    return (m && m.nonlinearity) || "tanh";
  }

  update(trace) {
    this.trace = trace;
    this.render();
  }

  reset() {
    this.trace = null;
    this.shown = null;
    clear(this.container);
  }

  render() {
    const tr = this.trace;
    if (!tr || !tr.steps.length) return;
    const { t, unit, phase } = this.state;
    if (!tr.steps[t] || unit >= tr.hidden_size) return;
    // (renderAll asks on every change of the player's state: rebuild only when what it shows did)
    const shown = [tr, t, unit, phase, tr.backward[t]];
    if (this.shown && shown.every((v, i) => v === this.shown[i])) return;
    this.shown = shown;
    const box = clear(this.container);
    box.append(el("p", { class: "eq-head" }, `Unit ${unit} at step t = ${t} (token “${tr.steps[t].token}”). ` +
      "Click a unit in the cell view or the network to change it."));
    const note = layerNote(tr);
    if (note) box.append(el("p", { class: "eq-note" }, note));
    const fwd = el("div", { class: "eq-block" });
    fwd.append(el("h3", {}, "Forward"));
    for (const l of forwardLines(tr, t, unit, this.nonlinearity)) fwd.append(lineNode(l));
    box.append(fwd);
    const bwd = el("div", { class: "eq-block" });
    bwd.append(el("h3", {}, "Backward (BPTT)"));
    if (phase !== "backward") {
      bwd.append(el("p", { class: "hint" }, "Step into the backward phase to see the gradients at this step."));
    } else if (!tr.backward[t]) {
      bwd.append(el("p", { class: "hint" }, "Computing the backward pass…"));
    } else {
      for (const l of backwardLines(tr, t, unit, this.nonlinearity)) bwd.append(lineNode(l));
    }
    box.append(bwd);
    box.append(this.checkButton(tr, t, unit));
  }

  /** "Check" buttons: the server nudges h_t[unit] (or c_t[unit]) by ±ε, reruns the network and
   * compares (L(+ε) − L(−ε)) / 2ε with the backpropagated gradient (POST /api/gradcheck). */
  checkButton(tr, t, unit) {
    const wrap = el("div", { class: "gradcheck" });
    const out = el("span", { class: "gradcheck-out", role: "status" });
    const quantities = tr.cell === "lstm" ? [["h", "dL/dh"], ["c", "dL/dc"]] : [["h", "dL/dh"]];
    for (const [quantity, label] of quantities) {
      const btn = el("button", { type: "button", class: "gradcheck-btn", "data-quantity": quantity,
        title: `Compare the analytic ${label}${sub(t)}[${unit}] with a finite difference` },
      `Check gradient ${label}${sub(t)}`);
      btn.addEventListener("click", () => this.check(out, { model: tr.model, text: this.state.text, t, unit,
        quantity, clip: this.state.clip, truncate: this.state.truncate, truncate_mode: this.state.tmode,
        layer: tr.layer, direction: tr.direction }));
      wrap.append(btn);
    }
    wrap.append(out);
    return wrap;
  }

  async check(out, body) {
    out.textContent = "checking…";
    try {
      const r = await gradcheck(body);
      const ok = r.rel_error != null && r.rel_error < 1e-5;
      const precise = (v) => (v == null ? "–" : v.toPrecision(8).replace("-", "−"));
      out.textContent = `${r.quantity}: analytic ${precise(r.analytic)} · finite difference ` +
        `${precise(r.numeric)} · relative error ${fmt(r.rel_error, 2)}${ok ? " ✓" : ""}` +
        (r.note ? ` (${r.note})` : "");
      out.dataset.ok = ok ? "1" : "0";
    } catch (e) {
      out.textContent = e.status === 404 ? "The gradient check is not available on this server." : `Error: ${e.message}`;
    }
  }
}
