/** The SVG pieces of the unrolled network (views/unrolled.js): arrow heads, every step's units
 * as one bitmap, the width of a gradient arrow, a step's input box, Jordan's y_{t−1} arrow, and
 * the loss written as the sum it is (the ledger's line). */

import { svg, fmt, showToken } from "../dom.js";
import { diverging } from "../colors.js";
import { UNROLLED as U } from "../config.js";
import { Y_OUT } from "./unrolled_layout.js";

export function arrowHead(id, color, size = 11, opacity = null) {
  // userSpaceOnUse: a thick gradient arrow keeps a normal-sized head
  const m = svg("marker", { id, viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: size, markerHeight: size,
    orient: "auto-start-reverse", markerUnits: "userSpaceOnUse" });
  m.append(svg("path", { d: "M0,0 L10,5 L0,10 z", fill: color, "fill-opacity": opacity }));
  return m;
}

/** Every step's units as one bitmap (a gridCols × gridRows tile per step, side by side, one
 * encode instead of one per step); `tile(t)` is the viewBox of step t's tile. */
export function unitSprite(steps, gridCols, gridRows, scale) {
  const px = 4;  // pixels per unit, so the gaps between units stay visible when scaled
  const tw = gridCols * px, th = gridRows * px;
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, tw * steps.length);
  canvas.height = th;
  const ctx = canvas.getContext("2d");
  steps.forEach((step, t) => step.h.forEach((v, k) => {
    ctx.fillStyle = diverging(v, scale);
    ctx.fillRect(t * tw + (k % gridCols) * px, Math.floor(k / gridCols) * px, px - 0.5, px - 0.5);
  }));
  return { href: canvas.toDataURL(), width: canvas.width, height: th, tile: (t) => `${t * tw} 0 ${tw} ${th}` };
}

/** Log-scaled width so that gradients spanning many orders of magnitude all stay visible. */
export function gradWidth(norm, lo, hi) {
  if (!(norm > 0)) return U.gradMinWidth;
  const a = Math.log10(lo), b = Math.log10(hi);
  const u = b > a ? (Math.log10(norm) - a) / (b - a) : 1;
  return U.gradMinWidth + Math.max(0, Math.min(1, u)) * (U.gradMaxWidth - U.gradMinWidth);
}

const SUBS = "₀₁₂₃₄₅₆₇₈₉";
export function subscript(n) { return String(n).split("").map((c) => SUBS[c]).join(""); }

/** The loss so far as the sum it is: "Σ L so far (steps 0…t) = L₀ + L₁ + … = v", or the whole L. */
export function lossSum(tr, t, whole = false) {
  const terms = [];
  let sum = 0;
  for (let s = 0; s <= t && s < tr.steps.length; s++) {
    const v = tr.steps[s].loss;
    if (v == null) continue;
    sum += v;
    terms.push(`L${subscript(s)}`);
  }
  if (whole) sum = tr.loss ?? sum;
  const shown = terms.length <= 4 ? terms.join(" + ") : `${terms.slice(0, 2).join(" + ")} + … + ${terms[terms.length - 1]}`;
  if (!terms.length) {
    return tr.setup === "many-to-one" || tr.setup === "one-to-one" ? "no loss before the last step" : "no loss so far";
  }
  const lhs = whole ? "L = Σ L_t" : `Σ L so far (steps 0…${t})`;
  return `${lhs} = ${terms.length > 1 ? `${shown} = ` : `${terms[0]} = `}${fmt(sum, 3)}` +
    (terms.length > 1 ? ` (${terms.length} losses)` : "");
}

/** The ledger under the network: the loss so far (forward), or the whole loss and step t's term
 * of dW_hh (backward). */
export function ledgerText(tr, t, phase) {
  if (phase === "forward") return `Forward · ${lossSum(tr, t)}`;
  const b = tr.backward[t];
  return b
    ? `Backward · ${lossSum(tr, tr.steps.length - 1, true)} · step ${t} adds ‖ΔW_hh‖ = ${fmt(b.contrib_norms.weight_hh, 3)}` +
      ` · running ‖Σ dW_hh‖ = ${fmt(b.dW_hh_running_norm, 3)}`
    : tr.backwardPending ? "Backward · computing BPTT…" : "Backward · computing BPTT for the typed characters…";
}

/** The input box under a step: its token (dimmed, with what the model read, when it did not
 * know it), or 0 where a one-to-many model is fed a zero vector. */
export function tokenBox(tr, step, t, cx, cw, w, y) {
  const g = svg("g", { class: "input" });
  const zero = tr.setup === "one-to-many" && t > 0;
  const label = zero ? "0" : showToken(step.token);
  const tokW = Math.min(w - 4, Math.max(Math.min(cw, 40), 10 * [...label].length + 12));
  const cls = zero ? " zero-input" : step.unknown ? " unknown" : "";
  g.append(svg("rect", { class: `tok-box${cls}`, x: cx - tokW / 2, y, width: tokW, height: 28, rx: 5 }),
    svg("text", { class: `tok${cls}`, x: cx, y: y + 20, "text-anchor": "middle" }, label));
  if (zero) {
    g.append(svg("title", {}, `step ${t}: a zero vector (a one-to-many model reads its one input at step 0, then zeros)`));
  } else if (step.unknown) {
    const seen = step.seen_as == null ? "a zero vector" : `“${showToken(step.seen_as)}”`;
    g.append(svg("title", {}, `“${showToken(step.token)}” is not in the model's vocabulary: it read ${seen} instead`));
  }
  return g;
}

/** Jordan: the previous step's output y_{t−1} (or y₋₁ = 0) feeds this cell. */
export function jordanArrow(t, cx, w, cl, yCell) {
  const x0 = t === 0 ? cl - w / 2 + 6 : cx - w + 8;
  const path = svg("path", { class: "rec jordan", d: `M${x0},${Y_OUT + 6} C${x0 + 10},${yCell - 20} ${cl - 4},${yCell - 24} ${cl + 6},${yCell - 2}`,
    fill: "none", "marker-end": "url(#ah-y)" });
  path.append(svg("title", {}, t === 0 ? "y₋₁ = 0 feeds h₀ (Jordan: the previous output is an input)"
    : `y${subscript(t - 1)} feeds h${subscript(t)}: the cell reads [x${subscript(t)}; y${subscript(t - 1)}]`));
  return path;
}
