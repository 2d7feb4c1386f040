// What each wire of the cell diagram carries at one step: a vector over the hidden units, its
// name and (backward) its chain-rule factor. Pure functions of the trace (contracts §4); the few
// products computed here are the engine's own (engine/cells/*.py step_backward), and
// tests/browser/test_diagram_page.py checks them against the engine's gradients.
//
// Forward: the trace's h, c, gates (and the GRU's m); the previous state is steps[t-1] (the
// reverse direction's is steps[t+1]) or state0 before the first step. Backward: the trace's dh,
// dc, dgates, what step t sends back (dh_prev, dc_prev), what the next step sent (its dh_prev,
// dc_prev) and the gradient from outside (dh_in).

const SUB = { t: "ₜ", "-": "₋", "+": "₊", 1: "₁" };
const SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹";
const sup = (n) => String(n).split("").map((d) => SUP[Number(d)]).join("");

const map2 = (a, b, fn) => (a && b ? a.map((v, k) => (v == null || b[k] == null ? null : fn(v, b[k]))) : null);
const map1 = (a, fn) => (a ? a.map((v) => (v == null ? null : fn(v))) : null);
const mul = (a, b) => map2(a, b, (x, y) => x * y);
const zeros = (H) => new Array(H).fill(0);

/** The steps around t in the shown direction's own time: previous and next (null past the ends). */
export function neighbours(tr, t) {
  const T = tr.steps.length, step = tr.direction === 1 ? -1 : 1;
  const prev = t - step, next = t + step;
  return { prev: prev >= 0 && prev < T ? prev : null, next: next >= 0 && next < T ? next : null };
}

/** Names that depend on the direction and the layer: hₜ₋₁ (reverse: hₜ₊₁), xₜ or h⁽ˡ⁻¹⁾ₜ. */
export function names(tr) {
  const p = tr.direction === 1 ? `${SUB.t}${SUB["+"]}${SUB[1]}` : `${SUB.t}${SUB["-"]}${SUB[1]}`;
  const n = tr.direction === 1 ? `${SUB.t}${SUB["-"]}${SUB[1]}` : `${SUB.t}${SUB["+"]}${SUB[1]}`;
  const below = tr.layer > 0 ? `h${"⁽" + sup(tr.layer - 1) + "⁾"}` : "x";
  const jordan = tr.jordan ? `, y${p}` : "";
  return { prev: p, next: n, nextText: tr.direction === 1 ? "t − 1" : "t + 1", t: SUB.t, x: `${below}${SUB.t}${jordan}`, above: tr.layer < tr.num_layers - 1 ?
    `layer ${tr.layer + 1}` : "the output" };
}

/** The previous state's h and c (state0 before the first step; zeros if the trace lacks it). */
function previousState(tr, t) {
  const { prev } = neighbours(tr, t);
  if (prev != null) return tr.steps[prev];
  const H = tr.hidden_size;
  const s0 = tr.state0 || {};
  return { h: s0.h || zeros(H), c: s0.c || (tr.cell === "lstm" ? zeros(H) : null) };
}

/** The next step's backward frame, or a zero "nothing comes back" one after the last step. */
function nextBack(tr, t) {
  const { next } = neighbours(tr, t);
  if (next != null) return tr.backward[next];
  const H = tr.hidden_size;
  return { dh_prev: zeros(H), dc_prev: zeros(H) };
}

/** name -> {vec, name, factor}: every wire's vector at step t in the given phase. */
export function wireValues(tr, t, phase) {
  const S = tr.steps[t];
  if (!S) return {};
  const P = previousState(tr, t);
  const nm = names(tr);
  const forward = FORWARD[tr.cell](S, P, nm, tr);
  if (phase !== "backward") return forward;
  const B = tr.backward && tr.backward[t];
  if (!B) return {};
  return BACKWARD[tr.cell](S, P, B, nextBack(tr, t), nm, tr);
}

const w = (vec, name, factor = null) => ({ vec, name, factor });

const FORWARD = {
  lstm(S, P, n) {
    const g = S.gates;
    const tanhC = map1(S.c, Math.tanh);
    return {
      c_prev: w(P.c, `c${n.prev}`), h_prev: w(P.h, `h${n.prev}`),
      f: w(g.f, `f${n.t}`), i: w(g.i, `i${n.t}`), g: w(g.g, `g${n.t}`), o: w(g.o, `o${n.t}`),
      fc: w(mul(g.f, P.c), `f ⊙ c${n.prev}`), ig: w(mul(g.i, g.g), "i ⊙ g"),
      c: w(S.c, `c${n.t}`), c_out: w(S.c, `c${n.t}`), tanh_c: w(tanhC, `tanh c${n.t}`),
      h: w(S.h, `h${n.t}`), h_out: w(S.h, `h${n.t}`), h_up: w(S.h, `h${n.t}`),
    };
  },
  gru(S, P, n) {
    const { r, z } = S.gates, cand = S.gates.n;
    const oneMinusZ = map1(z, (v) => 1 - v);
    return {
      h_prev: w(P.h, `h${n.prev}`), r: w(r, `r${n.t}`), z: w(z, `z${n.t}`), n: w(cand, `n${n.t}`),
      m: w(S.m || null, `W_hn h${n.prev}+b`), rm: w(mul(r, S.m), "r ⊙ m"),
      omz: w(oneMinusZ, `1 − z${n.t}`), zh: w(mul(z, P.h), `z ⊙ h${n.prev}`),
      zn: w(mul(oneMinusZ, cand), "(1 − z) ⊙ n"),
      h: w(S.h, `h${n.t}`), h_out: w(S.h, `h${n.t}`), h_up: w(S.h, `h${n.t}`),
    };
  },
  rnn(S, P, n) {
    return {
      h_prev: w(P.h, `h${n.prev}`), a: w(S.pre, `a${n.t}`),
      h: w(S.h, `h${n.t}`), h_out: w(S.h, `h${n.t}`), h_up: w(S.h, `h${n.t}`),
    };
  },
};

const BACKWARD = {
  lstm(S, P, B, N, n, tr) {
    const g = S.gates, dg = B.dgates;
    const tanhC = map1(S.c, Math.tanh);
    const dhO = mul(B.dh, g.o);
    const peep = tr.peephole ? " + peepholes" : "";
    return {
      h_out: w(N.dh_prev, `δh${n.t} →`, `from step ${n.nextText}`),
      h_up: w(B.dh_in, `δh${n.t} ↑`, `from ${n.above}`),
      h: w(B.dh, `δh${n.t}`, "= sum of both"),
      o: w(mul(B.dh, tanhC), `δo${n.t}`, `× tanh c${n.t}`),
      tanh_c: w(dhO, `δ tanh c${n.t}`, `× o${n.t}`),
      c_tanh: w(map2(dhO, tanhC, (x, y) => x * (1 - y * y)), `δc${n.t} via h${n.t}`, `× (1 − tanh²c${n.t})`),
      c_out: w(N.dc_prev, `δc${n.t} →`, `from step ${n.nextText}`),
      c: w(B.dc, `δc${n.t}`, tr.peephole ? "= sum (+ w_co ⊙ δa_o)" : "= sum of both"),
      fc: w(B.dc, `δ(f ⊙ c${n.prev})`, "× 1"), ig: w(B.dc, "δ(i ⊙ g)", "× 1"),
      f: w(mul(B.dc, P.c), `δf${n.t}`, `× c${n.prev}`), i: w(mul(B.dc, g.g), `δi${n.t}`, `× g${n.t}`),
      g: w(mul(B.dc, g.i), `δg${n.t}`, `× i${n.t}`),
      a_f: w(dg.f, "δa_f", "× f(1 − f)"), a_i: w(dg.i, "δa_i", "× i(1 − i)"),
      a_g: w(dg.g, "δa_g", "× (1 − g²)"), a_o: w(dg.o, "δa_o", "× o(1 − o)"),
      c_prev: w(B.dc_prev, `δc${n.prev}`, `× f${n.t}${peep}`),
      h_prev: w(B.dh_prev, `δh${n.prev}`, "× W_hhᵀ"),
      p_i: w(dg.i, "δa_i", "× w_ci"), p_f: w(dg.f, "δa_f", "× w_cf"), p_o: w(dg.o, "δa_o", "× w_co"),
    };
  },
  gru(S, P, B, N, n) {
    const { r, z } = S.gates, cand = S.gates.n, dg = B.dgates;
    return {
      h_out: w(N.dh_prev, `δh${n.t} →`, `from step ${n.nextText}`),
      h_up: w(B.dh_in, `δh${n.t} ↑`, `from ${n.above}`),
      h: w(B.dh, `δh${n.t}`, "= sum of both"),
      zh: w(B.dh, `δ(z ⊙ h${n.prev})`, "× 1"), zn: w(B.dh, "δ((1 − z) ⊙ n)", "× 1"),
      z: w(map2(B.dh, map2(P.h, cand, (a, b) => a - b), (x, y) => x * y), `δz${n.t}`, `× (h${n.prev} − n${n.t})`),
      omz: w(mul(B.dh, cand), `δ(1 − z${n.t})`, `× n${n.t}`),
      n: w(map2(B.dh, z, (x, y) => x * (1 - y)), `δn${n.t}`, `× (1 − z${n.t})`),
      a_n: w(dg.n, "δa_n", "× (1 − n²)"),
      rm: w(dg.n, "δ(r ⊙ m)", "× 1"), r: w(mul(dg.n, S.m), `δr${n.t}`, `× m${n.t}`),
      m: w(mul(dg.n, r), `δm${n.t}`, `× r${n.t}`),
      a_r: w(dg.r, "δa_r", "× r(1 − r)"), a_z: w(dg.z, "δa_z", "× z(1 − z)"),
      h_prev: w(B.dh_prev, `δh${n.prev}`, `× W_hhᵀ, + δh ⊙ z`),
    };
  },
  rnn(S, P, B, N, n, tr) {
    const relu = tr.nonlinearity === "relu";
    return {
      h_out: w(N.dh_prev, `δh${n.t} →`, `from step ${n.nextText}`),
      h_up: w(B.dh_in, `δh${n.t} ↑`, `from ${n.above}`),
      h: w(B.dh, `δh${n.t}`, "= sum of both"),
      a: w(B.dgates.pre, `δa${n.t}`, relu ? `× [a${n.t} > 0]` : `× (1 − h${n.t}²)`),
      h_prev: w(B.dh_prev, `δh${n.prev}`, "× W_hhᵀ"),
    };
  },
};

/** The input wire: the token (one-hot), or the vector the cell reads, and in backward ‖δx‖. */
export function inputValue(tr, t, phase) {
  const S = tr.steps[t];
  const nm = names(tr);
  if (phase === "backward") {
    const B = tr.backward && tr.backward[t];
    return { name: `‖δ${nm.x}‖`, norm: B ? B.dx_norm : null, vec: B ? B.dx || null : null, factor: "× W_ihᵀ" };
  }
  const vec = S && S.x ? S.x : null;
  const token = tr.layer === 0 && S ? (S.seen_as ?? S.token ?? null) : null;
  const norm = vec ? Math.hypot(...vec.map((v) => v || 0)) : null;
  return { name: nm.x, token, index: S ? S.input_index : null, vec, norm, factor: null };
}
