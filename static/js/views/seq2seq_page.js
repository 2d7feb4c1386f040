// The encoder–decoder page: the unrolled diagram, the selected step's vectors with numbers (the
// cell view's style), its equations, and with attention the α heatmap and the what-if. The
// player's t runs over the timeline of kinds.js (encoder steps, the context vector, decoder
// steps). A what-if in the State (`whatif`) is sent to the engine (POST /api/seq2seq/whatif) and
// shown as what it is: an intervention, under a banner, with a reset.
import { el, clear, fmt, showToken } from "../dom.js";
import { isUnitInterval } from "../colors.js";
import { EncoderDecoderDiagram } from "./seq2seq.js";
import { AttentionPanel } from "./attention.js";
import { StepGrid } from "./stepgrid.js";
import { parseWhatIf, focusWhatIf, alphaWhatIf, whatIfAlpha, whatIfBody } from "../whatif.js";

const vec = (v, n = 2) => `[${v.map((x) => fmt(x, n)).join(", ")}]`;
const norm = (v) => Math.hypot(...v);

function forwardRows(step, gateNames) {
  const rows = gateNames.map((g) => ({ name: g, label: `gate ${g}`, values: step.gates[g],
    kind: isUnitInterval(g) ? "gate" : "signed" }));
  if (step.pre) rows.push({ name: "a", label: "pre-activation a", values: step.pre, kind: "signed" });
  if (step.c) rows.push({ name: "c", label: "cell state c", values: step.c, kind: "signed" });
  rows.push({ name: "h", label: "hidden state h", values: step.h, kind: "signed" });
  return rows;
}

const grad = (name, label, values) => ({ name, label, values, kind: "grad" });

export class Seq2SeqPage {
  constructor(container, state, { embed = false, whatif }) {
    this.container = container;
    this.state = state;
    this.embed = embed;
    this.fetchWhatIf = whatif;      // (change) => Promise of the /whatif answer
    this.trace = null;
    this.result = null;             // {trace, raw, answer | error}
    const head = el("div", { class: "panel-head" });
    this.title = el("h2", {}, "The encoder–decoder");
    this.ledger = el("span", { class: "ledger", "data-s2s-ledger": "" });
    head.append(this.title, this.info("seq2seq"), this.ledger);
    this.banner = el("div", { class: "whatif-banner", role: "status", hidden: "" });
    this.bannerText = el("span");
    const reset = el("button", { type: "button", class: "whatif-reset" }, "Reset attention");
    reset.addEventListener("click", () => state.set({ whatif: "" }));
    this.banner.append(el("strong", {}, "What-if: attention set by you"), this.bannerText, reset);
    const scroll = el("div", { class: "s2s-scroll" });
    this.diagram = new EncoderDecoderDiagram(scroll, {
      onSelect: (i) => state.set({ t: i }),
      onFocus: (t, s) => this.setWhatIf(t, focusWhatIf(t, s)),
    });
    // [attention | the step's equations] over the step's vectors (full width: the numbers fit)
    const cols = el("div", { class: "kind-cols" });
    this.right = el("div", { class: "kind-sub attn-sub" });
    this.rightTitle = el("h3", {}, "Attention α");
    this.attnBox = el("div");
    this.whatifBox = el("div", { class: "whatif-result", "aria-live": "polite" });
    this.right.append(this.rightTitle, this.attnBox, this.whatifBox);
    this.attention = new AttentionPanel(this.attnBox, { compact: embed,
      onFocus: (t, s) => this.setWhatIf(t, focusWhatIf(t, s)),
      onAlpha: (t, w) => this.setWhatIf(t, alphaWhatIf(t, w)) });
    const eqBox = el("div", { class: "kind-sub" });
    this.stepTitle = el("h3", { class: "step-title" });
    this.eqs = el("div", { class: "kind-eqs" });
    eqBox.append(this.stepTitle, this.eqs);
    cols.append(this.right, eqBox);
    const gridSub = el("div", { class: "kind-sub step-sub" });
    this.gridTitle = el("h3", {});
    this.gridBox = el("div", { class: "step-grid" });
    gridSub.append(this.gridTitle, this.gridBox);
    this.grid = new StepGrid(this.gridBox, { rowHeight: embed ? 24 : 30, compact: embed });
    if (embed) cols.hidden = true;
    this.caption = el("p", { class: "hint s2s-caption" });
    container.append(head, this.banner, scroll, this.caption, cols, gridSub);
  }

  info(key) {
    return el("button", { type: "button", class: "info", "data-explain": key, "aria-label": "About this view" }, "i");
  }

  /** A what-if on step t: show that decoder step and ask the engine. */
  setWhatIf(t, raw) {
    const tr = this.trace;
    if (!tr || !tr.attention) return;
    this.state.set({ whatif: raw, t: tr.encoder.length + 1 + t, phase: "forward" });
  }

  update(trace) {
    this.trace = trace;
    this.container.dataset.attention = trace.attention ? "1" : "0";
    this.rightTitle.textContent = trace.attention ? "Attention α (target × source)" : "Predictions";
    this.diagram.update(trace);
    this.attention.update(trace);
    if (this.state.whatif && !this.parsed()) this.state.set({ whatif: "" }, "controller");
    this.render();
  }

  reset(reason = "") {
    this.trace = null;
    this.diagram.reset();
    this.attention.reset();
    this.grid.clear();
    clear(this.eqs);
    this.stepTitle.textContent = "";
    this.ledger.textContent = reason;
    this.banner.hidden = true;
  }

  /** The State's what-if for this trace (null: none, invalid, or a model without attention). */
  parsed() {
    const tr = this.trace;
    return tr && tr.attention ? parseWhatIf(this.state.whatif, tr.encoder.length, tr.decoder.length) : null;
  }

  /** The engine's answer for the State's what-if, asked once per (trace, what-if). */
  whatIf() {
    const w = this.parsed();
    if (!w) return null;
    const raw = this.state.whatif, tr = this.trace;
    if (!this.result || this.result.trace !== tr || this.result.raw !== raw) {
      const mine = (this.result = { trace: tr, raw, answer: null, error: null });
      this.fetchWhatIf(whatIfBody(w)).then((answer) => { mine.answer = answer; },
        (err) => { mine.error = err.message; }).finally(() => {
        if (this.result === mine) { this.render(); this.container.dataset.whatif = raw; }
      });
    }
    const { answer, error } = this.result;
    return { ...w, alpha: answer ? answer.alpha : whatIfAlpha(w, tr.encoder.length), answer, error,
      predicted: answer ? answer.predicted : null };
  }

  render() {
    const tr = this.trace;
    if (!tr) return;
    const S = tr.encoder.length, L = tr.steps.length;
    const i = Math.min(this.state.t, L - 1), back = this.state.phase === "backward";
    const w = this.whatIf();
    this.ledger.textContent = `${tr.mode === "teacher" ? "teacher forcing" : tr.mode} · output “${tr.output.text}”` +
      `${tr.output.ended ? "" : " (no <eos>)"} · L = ${fmt(tr.loss, 4)}`;
    this.diagram.render({ i, phase: this.state.phase, whatif: w });
    this.caption.textContent = back
      ? `Under each state: ‖∂L/∂h‖, the size of the gradient that reached it${tr.attention
        ? "; in italics, an encoder state's part through the attention, there before the recurrence reaches it" : ""}. ` +
        "Arrow widths: the gradient each carries back (log scale)."
      : tr.attention ? "Lines: the current decoder step's attention α on every encoder state (width and strength by α). " +
        "Drag a decoder step onto a source token to set its attention yourself." : "";
    const t = i > S ? i - S - 1 : null;
    this.attention.render(t, w);
    this.renderBanner(w);
    this.renderStep(i, back, w);
    if (!tr.attention) this.renderTop(t);
  }

  renderBanner(w) {
    this.banner.hidden = !w;
    if (!w) { clear(this.whatifBox); return; }
    const tr = this.trace, a = w.alpha;
    const where = w.focus != null ? `all of step ${w.t}'s attention on “${showToken(tr.encoder[w.focus].token)}”`
      : `step ${w.t}'s attention set to ${vec(a)}`;
    this.bannerText.textContent = ` ${where}. Not what the model computes: an intervention.`;
    clear(this.whatifBox);
    if (w.error) { this.whatifBox.append(el("p", { class: "error-inline" }, w.error)); return; }
    if (!w.answer) { this.whatifBox.append(el("p", { class: "hint" }, "The engine is recomputing that step…")); return; }
    const r = w.answer;
    const line = el("p", { class: "whatif-line", "data-whatif-t": r.t, "data-whatif-token": r.predicted.token,
      "data-whatif-p": r.predicted.p, "data-whatif-changed": r.changed ? "1" : "0" });
    line.append(`Step ${r.t} now predicts `, el("strong", { class: "tok" }, showToken(r.predicted.token)),
      ` (p = ${fmt(r.predicted.p, 3)}); the model's own attention gives `,
      el("strong", { class: "tok" }, showToken(r.predicted_model.token)), ` (p = ${fmt(r.predicted_model.p, 3)}). `,
      r.changed ? "The prediction changed." : "The prediction is the same.");
    this.whatifBox.append(line);
    if (r.continuation) {
      const c = el("p", { class: "whatif-line", "data-whatif-continuation": r.continuation.text });
      c.append("Decoding on from there: ", el("strong", { class: "tok" }, r.continuation.text),
        ` (the model's own output: ${r.output_model.text})`);
      this.whatifBox.append(c);
    }
  }

  renderTop(t) {
    clear(this.attnBox);
    const tr = this.trace;
    if (t == null) {
      this.attnBox.append(el("p", { class: "hint" }, "No attention: the decoder knows the source only through the " +
        "context vector c, its initial state. Step to a decoder step to see its predictions."));
      return;
    }
    const d = tr.decoder[t];
    const list = el("ol", { class: "top-list" });
    for (const o of d.top) {
      const li = el("li");
      const bar = el("span", { class: "top-bar" });
      bar.style.width = `${Math.max(1, o.p * 100)}%`;
      li.append(el("span", { class: "tok" }, showToken(o.token)), el("span", { class: "top-track" }), el("span", { class: "num" }, fmt(o.p, 3)));
      li.children[1].append(bar);
      list.append(li);
    }
    this.attnBox.append(list);
  }

  renderStep(i, back, w) {
    const tr = this.trace, S = tr.encoder.length, b = tr.backward;
    const eqs = [];
    let rows, title;
    if (i < S) {
      const e = tr.encoder[i], be = b.encoder[i];
      title = `Encoder step ${i} reads “${showToken(e.token)}”: h̄${sub(i)}`;
      rows = forwardRows(e, tr.gate_names);
      eqs.push(`h̄${sub(i)} = ${tr.cell.toUpperCase()}(x${sub(i)}, h̄${i ? sub(i - 1) : "₋₁ = 0"})   ‖h̄${sub(i)}‖ = ${fmt(norm(e.h))}`);
      if (back) {
        rows.push(grad("dh", "dL/dh̄ (total)", be.dh));
        if (tr.attention) rows.push(grad("dh_attn", "dL/dh̄ through the attention", be.dh_attn));
        rows.push(grad("dh_rec", i === S - 1 ? "dL/dh̄ from the context vector" : "dL/dh̄ from step s+1", be.dh_rec));
        if (be.dc) rows.push(grad("dc", "dL/dc", be.dc));
        eqs.push(`∂L/∂h̄${sub(i)} = ${tr.attention ? `through attention (‖·‖ ${fmt(be.dh_attn_norm)}) + ` : ""}` +
          `${i === S - 1 ? "from the context" : `from step ${i + 1}`} (‖·‖ ${fmt(be.dh_rec_norm)})   ‖·‖ = ${fmt(be.dh_norm)}`);
      }
    } else if (i === S) {
      title = "The context vector c: the encoder's last state, the decoder's h₀";
      rows = [{ name: "h", label: "context vector c = h̄ (last)", values: tr.context.h, kind: "signed" }];
      if (tr.context.c) rows.push({ name: "c", label: "cell state c (last)", values: tr.context.c, kind: "signed" });
      eqs.push(`c = h̄${sub(S - 1)}: ${tr.attention ? "with attention the decoder also sees every h̄_s" : "all the decoder knows about the source"}   ‖c‖ = ${fmt(norm(tr.context.h))}`);
      if (back) {
        rows.push(grad("dh", "dL/dc", b.context.dh));
        if (b.context.dc) rows.push(grad("dc", "dL/d(cell state)", b.context.dc));
        eqs.push(`∂L/∂c = ∂L/∂h₀ of the decoder   ‖·‖ = ${fmt(b.context.dh_norm)}`);
      }
    } else {
      const t = i - S - 1, d = tr.decoder[t], bd = b.decoder[t];
      const mine = w && w.t === t && w.answer ? w.answer : null;
      title = `Decoder step ${t} reads “${showToken(d.input_token)}”, predicts “${showToken(d.predicted_token)}”`;
      rows = forwardRows(d, tr.gate_names);
      if (tr.attention) {
        rows.push({ name: "ctx", label: "context ctx_t = Σ α h̄", values: d.ctx, kind: "signed" },
          { name: "h̃", label: "attentional state h̃_t", values: d.h_tilde, kind: "signed" });
        if (mine) {
          rows.push({ name: "ctx′", label: "ctx′ with your α (what-if)", values: mine.ctx, kind: "signed" },
            { name: "h̃′", label: "h̃′ with your α (what-if)", values: mine.h_tilde, kind: "signed" });
        }
        eqs.push(`score = h${sub(t)}ᵀ ${tr.attention === "dot" ? "" : "W_a "}h̄_s = ${vec(d.score)}`,
          `α${sub(t)} = softmax(score) = [${d.alpha.map((a) => a.toFixed(2)).join(", ")}]`,
          `ctx${sub(t)} = Σ_s α${sub(t)}s h̄_s,   h̃${sub(t)} = tanh(W_c [ctx${sub(t)}; h${sub(t)}] + b_c)`);
      }
      const hv = tr.attention ? "h̃" : "h";
      eqs.push(`p(y${sub(t)}) = softmax(W_out ${hv}${sub(t)} + b_out): ${d.top.map((o) => `${showToken(o.token)} ${fmt(o.p, 2)}`).join(" · ")}`);
      if (mine) eqs.push(`what-if: α′ = ${vec(mine.alpha)} → ${showToken(mine.predicted.token)} ${fmt(mine.predicted.p, 2)}`);
      if (tr.mode === "teacher") eqs.push(`loss${sub(t)} = −log p(“${showToken(d.target_token)}”) = ${fmt(d.loss, 4)}`);
      if (back) {
        rows.push(grad("dh", "dL/dh (total)", bd.dh), grad("dh_out", "dL/dh from this step's output", bd.dh_out));
        if (bd.dc) rows.push(grad("dc", "dL/dc", bd.dc));
        if (tr.attention) rows.push(grad("dctx", "dL/dctx", bd.dctx), grad("dh̃", "dL/dh̃", bd.dh_tilde));
        eqs.push(`∂L/∂h${sub(t)}: ‖·‖ = ${fmt(bd.dh_norm)} (from its output ${fmt(bd.dh_out_norm)})`);
      }
    }
    this.stepTitle.textContent = `${title} (${back ? "backward" : "forward"})`;
    this.gridTitle.textContent = `${this.embed ? `${title}: ` : ""}the vectors, unit by unit${back ? ", with their gradients" : ""}`;
    this.grid.show(rows);
    clear(this.eqs);
    for (const line of eqs) this.eqs.append(el("div", { class: "eq" }, line));
  }
}

const SUBS = "₀₁₂₃₄₅₆₇₈₉";
function sub(n) {
  return String(n).split("").map((ch) => SUBS[Number(ch)]).join("");
}
