// Token chips and, on demand, a token's one-hot input vector x_t.
import { el, clear, showToken } from "../dom.js";

const MAX_CELLS = 120;   // draw the whole one-hot vector only when the vocabulary is small

export class TokensView {
  constructor(chips, onehot, state) {
    this.chips = chips;
    this.onehot = onehot;
    this.state = state;
    this.trace = null;
    this.open = null;        // step whose one-hot vector is shown
    chips.addEventListener("click", (ev) => {
      const chip = ev.target.closest(".chip");
      if (!chip) return;
      const t = Number(chip.dataset.t);
      this.open = this.open === t ? null : t;
      state.set({ t, phase: "forward" });
      this.renderOnehot();
    });
  }

  update(trace) {
    this.trace = trace;
    clear(this.chips);
    if (this.open != null && this.open >= trace.tokens.length) this.open = null;
    trace.tokens.forEach((tok, t) => {
      const chip = el("button", { type: "button", class: "chip", "data-t": t,
        title: `Token ${t}: click to see its one-hot vector x_${t}` });
      chip.append(el("span", { class: "chip-text" }, showToken(tok)), el("sub", {}, t));
      this.chips.append(chip);
    });
    this.render();
    this.renderOnehot();
  }

  reset() {
    this.trace = null;
    this.open = null;
    clear(this.chips);
    this.renderOnehot();
  }

  /** Append chips for live-typed tokens without rebuilding. */
  append(trace, from) {
    this.trace = trace;
    for (let t = from; t < trace.tokens.length; t++) {
      const chip = el("button", { type: "button", class: "chip live", "data-t": t,
        title: `Token ${t} (typed live)` });
      chip.append(el("span", { class: "chip-text" }, showToken(trace.tokens[t])), el("sub", {}, t));
      this.chips.append(chip);
    }
    this.render();
  }

  render() {
    const t = this.state.t;
    for (const chip of this.chips.children) {
      chip.classList.toggle("current", Number(chip.dataset.t) === t);
      chip.classList.toggle("open", Number(chip.dataset.t) === this.open);
    }
  }

  renderOnehot() {
    const box = this.onehot;
    clear(box);
    const tr = this.trace;
    if (!tr || this.open == null || this.open >= tr.tokens.length) { box.hidden = true; return; }
    box.hidden = false;
    const t = this.open;
    const idx = tr.input_ids[t];
    const V = tr.vocab_size;
    const head = el("div", { class: "onehot-head" });
    head.append(
      el("strong", {}, `x_${t}`),
      document.createTextNode(" = one-hot of “"),
      el("span", { class: "tok" }, tr.tokens[t]),
      document.createTextNode(`”: a 1 at index ${idx}, zeros at the other ${V - 1} positions (V = ${V})`),
    );
    box.append(head);
    const strip = el("div", { class: "onehot-strip", role: "img",
      "aria-label": `one-hot vector with a 1 at index ${idx} of ${V}` });
    const lo = V <= MAX_CELLS ? 0 : Math.max(0, Math.min(V - MAX_CELLS, idx - MAX_CELLS / 2));
    const hi = Math.min(V, lo + MAX_CELLS);
    if (lo > 0) strip.append(el("span", { class: "ellipsis" }, `… ${lo} zeros`));
    for (let k = lo; k < hi; k++) {
      const label = tr.vocab ? showToken(tr.vocab[k]) : String(k);
      const cell = el("span", { class: k === idx ? "bit one" : "bit", title: `index ${k}: ${label}` },
        k === idx ? "1" : "0");
      strip.append(cell);
    }
    if (hi < V) strip.append(el("span", { class: "ellipsis" }, `… ${V - hi} zeros`));
    box.append(strip);
  }
}
