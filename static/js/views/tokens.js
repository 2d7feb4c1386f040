// Token chips and, on demand, a token's one-hot input vector x_t. A chip shows the token as
// typed; one the model lower-cased says what it read instead, one it does not know is dimmed
// and says what it saw (the zero vector, or <unk>). All text goes in as text, never as HTML.
import { el, clear, showToken } from "../dom.js";

const MAX_CELLS = 120;   // draw the whole one-hot vector only when the vocabulary is small

/** What the model read at step t: {typed, seen (a vocabulary token, or null: the zero vector),
 * unknown}. Traces from before the server said so read every token as typed. */
export function reading(trace, t) {
  const typed = trace.tokens[t];
  const seen = trace.tokens_seen ? trace.tokens_seen[t] : typed;
  const unknown = trace.tokens_unknown ? trace.tokens_unknown.includes(t) : false;
  return { typed, seen, unknown };
}

/** The sentence a chip's tooltip gives about what the model read. */
export function readingNote({ typed, seen, unknown }) {
  if (unknown) {
    const saw = seen == null ? "a zero vector" : seen;
    return `not in this model's vocabulary: it saw ${saw}`;
  }
  if (seen !== typed) return `the model read it as “${showToken(seen)}” (it lower-cases)`;
  return "";
}

function chip(trace, t, live) {
  const r = reading(trace, t);
  const note = readingNote(r);
  const what = live ? `Token ${t} (typed live)` : `Token ${t}: click to see its one-hot vector x_${t}`;
  const classes = ["chip", live && "live", r.unknown && "unknown", !r.unknown && r.seen !== r.typed && "normalized"];
  const node = el("button", { type: "button", class: classes.filter(Boolean).join(" "), "data-t": t,
    title: note ? `“${showToken(r.typed)}”: ${note}. ${what}` : what });
  node.append(el("span", { class: "chip-text" }, showToken(r.typed)));
  if (!r.unknown && r.seen !== r.typed) node.append(el("span", { class: "chip-seen" }, `→${showToken(r.seen)}`));
  node.append(el("sub", {}, t));
  return node;
}

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
    trace.tokens.forEach((_, t) => this.chips.append(chip(trace, t, false)));
    const ignored = trace.tokens_ignored || [];
    if (ignored.length) {   // a one-to-one or one-to-many model reads one token: say what it left
      const words = ignored.some((tok) => [...tok].length > 1);
      const rest = words ? ignored.join(" ") : ignored.join("");
      this.chips.append(el("span", { class: "ignored-note", role: "note" },
        `This ${trace.setup} model reads one token, the first; it did not read the rest: “${rest}”.`));
    }
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
    for (let t = from; t < trace.tokens.length; t++) this.chips.append(chip(trace, t, true));
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
    const idx = tr.input_ids[t];          // null: the model read the zero vector
    const V = tr.vocab_size;
    const r = reading(tr, t);
    const head = el("div", { class: "onehot-head" });
    head.append(el("strong", {}, `x_${t}`));
    if (idx == null) {
      head.append(
        document.createTextNode(" = the zero vector: “"),
        el("span", { class: "tok" }, r.typed),
        document.createTextNode(`” is not in this model's vocabulary, so no position holds a 1 (V = ${V})`),
      );
    } else {
      head.append(document.createTextNode(" = one-hot of “"), el("span", { class: "tok" }, r.seen ?? r.typed));
      if (r.unknown) {
        head.append(document.createTextNode("”, because “"), el("span", { class: "tok" }, r.typed),
          document.createTextNode("” is not in this model's vocabulary"));
      } else if (r.seen !== r.typed) {
        head.append(document.createTextNode("” (typed “"), el("span", { class: "tok" }, r.typed),
          document.createTextNode("”; the model lower-cases)"));
      } else {
        head.append(document.createTextNode("”"));
      }
      head.append(document.createTextNode(`: a 1 at index ${idx}, zeros at the other ${V - 1} positions (V = ${V})`));
    }
    box.append(head);
    const strip = el("div", { class: "onehot-strip", role: "img",
      "aria-label": idx == null ? `zero vector of ${V}` : `one-hot vector with a 1 at index ${idx} of ${V}` });
    const centre = idx == null ? 0 : idx;
    const lo = V <= MAX_CELLS ? 0 : Math.max(0, Math.min(V - MAX_CELLS, centre - MAX_CELLS / 2));
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
