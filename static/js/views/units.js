// Finding units (as LSTMVis and Karpathy's "interpretable cells" do): select a span of tokens,
// and the units whose activation is highest (or lowest) there relative to the rest of the
// sentence are listed with their score; clicking one selects it (state.unit, shared with every
// view) and the sentence is coloured by that unit's activation at each step.
//
//   score_k = mean_{t in span} v_t[k] − mean_{t outside} v_t[k],   v = h (or an LSTM's c)
//
// The span is the `span` state prop ("a-b", inclusive steps), so a link reproduces it.
import { el, clear, fmt, showToken } from "../dom.js";
import { diverging, inkFor } from "../colors.js";
import { DIVERGING } from "../config.js";

const LIST = 12;                  // units listed
const LIVE_REDRAW_MS = 400;
const RANKS = { up: "higher in the span", down: "lower in the span", abs: "either way (|score|)" };

/** "a-b" -> [a, b] when it fits a sentence of T steps, else null. */
export function parseSpan(text, T) {
  const m = /^(\d+)-(\d+)$/.exec(text || "");
  if (!m) return null;
  const a = Number(m[1]), b = Number(m[2]);
  return a <= b && b < T ? [a, b] : null;
}

/** Each unit's score, mean inside and mean outside the span (null outside: the span is all). */
export function unitScores(values, [a, b]) {
  const T = values.length, H = values[0].length, n = b - a + 1;
  return Array.from({ length: H }, (_, k) => {
    let inside = 0, outside = 0;
    for (let t = 0; t < T; t++) {
      if (t >= a && t <= b) inside += values[t][k]; else outside += values[t][k];
    }
    const mIn = inside / n, mOut = T > n ? outside / (T - n) : null;
    return { unit: k, score: mOut == null ? null : mIn - mOut, inside: mIn, outside: mOut };
  });
}

export function rankUnits(scores, how) {
  const key = { up: (s) => s.score, down: (s) => -s.score, abs: (s) => Math.abs(s.score) }[how];
  return scores.filter((s) => s.score != null).sort((p, q) => key(q) - key(p) || p.unit - q.unit);
}

export class UnitsView {
  constructor(container, state) {
    this.container = container;
    this.state = state;
    this.trace = null;
    this.drawn = null;
    this.anchor = null;            // where a drag or a shift-click extends from
    this.dragging = false;
    state.addEventListener("change", (e) => {
      if (["span", "usource", "urank", "unit"].some((k) => e.detail.changed.includes(k))) this.refresh();
    });
    window.addEventListener("pointerup", () => { this.dragging = false; });
  }

  isVisible() {
    return !this.container.hidden;
  }

  update(trace) {
    this.trace = trace;
    this.drawn = null;
    this.render();
  }

  reset(reason = "") {
    this.trace = null;
    this.drawn = null;
    clear(this.container);
    if (reason) this.container.append(el("p", { class: "hint" }, reason));
  }

  append(trace) {
    this.trace = trace;
    clearTimeout(this.appendTimer);
    this.appendTimer = setTimeout(() => this.update(this.trace), LIVE_REDRAW_MS);
  }

  render() {
    if (!this.isVisible() || !this.trace) return;
    if (this.drawn !== this.trace) this.build();
    else this.markCurrent();
  }

  /** A state change of this view's props: repaint what they change (not while hidden). */
  refresh() {
    if (!this.isVisible() || !this.trace) return;
    if (this.drawn !== this.trace) { this.build(); return; }
    this.paintChips();
    this.paintList();
  }

  /** The quantity scored: h, or c for an LSTM when asked (else h). */
  source() {
    return this.state.usource === "c" && this.trace.cell === "lstm" ? "c" : "h";
  }

  values() {
    const name = this.source();
    return this.trace.steps.map((s) => s[name]);
  }

  build() {
    const tr = this.trace;
    this.drawn = tr;
    const box = clear(this.container);
    const controls = el("div", { class: "row units-controls" });
    const srcLabel = el("label", { class: "field" }, "Score");
    const src = el("select", { class: "units-source", "aria-label": "Quantity scored" });
    src.append(new Option("the hidden state h", "h"), new Option("the cell state c (LSTM)", "c"));
    src.options[1].disabled = tr.cell !== "lstm";
    src.value = this.source();
    src.addEventListener("change", () => this.state.set({ usource: src.value }));
    srcLabel.append(src);
    const rankLabel = el("label", { class: "field" }, "Units");
    const rank = el("select", { class: "units-rank", "aria-label": "Which units to list" });
    for (const [v, text] of Object.entries(RANKS)) rank.append(new Option(text, v));
    rank.value = this.state.urank;
    rank.addEventListener("change", () => this.state.set({ urank: rank.value }));
    rankLabel.append(rank);
    const clearBtn = el("button", { type: "button", class: "units-clear" }, "Clear the span");
    clearBtn.addEventListener("click", () => this.state.set({ span: "" }));
    controls.append(srcLabel, rankLabel, clearBtn,
      el("button", { type: "button", class: "info", "data-explain": "units", "aria-label": "About finding units" }, "i"));
    box.append(controls);
    box.append(el("p", { class: "hint units-how" },
      "Select a span of tokens: click one, then shift-click (or drag) to extend it. Keyboard: Tab to a token, " +
      "Enter selects it, Shift+← and Shift+→ extend the span."));
    this.chips = el("div", { class: "units-tokens", role: "group", "aria-label": "The sentence: select a span" });
    tr.tokens.forEach((tok, t) => {
      const chip = el("button", { type: "button", class: "units-chip", "data-t": t });
      chip.append(el("span", { class: "units-tok" }, showToken(tok)), el("span", { class: "units-val" }, ""));
      this.chips.append(chip);
    });
    this.bindSelection(this.chips);
    box.append(this.chips);
    this.legend = el("div", { class: "units-legend" });
    box.append(this.legend);
    this.list = el("div", { class: "units-list" });
    box.append(this.list);
    this.paintChips();
    this.paintList();
  }

  setSpan(a, b, source = "ui") {
    const lo = Math.min(a, b), hi = Math.max(a, b);
    this.state.set({ span: `${lo}-${hi}` }, source);
  }

  bindSelection(chips) {
    const tOf = (node) => { const c = node && node.closest && node.closest(".units-chip"); return c ? Number(c.dataset.t) : null; };
    chips.addEventListener("pointerdown", (ev) => {
      const t = tOf(ev.target);
      if (t == null || ev.button !== 0) return;
      ev.preventDefault();                       // no text selection while dragging
      const span = parseSpan(this.state.span, this.trace.steps.length);
      if (ev.shiftKey && span) {
        this.anchor = this.anchor ?? span[0];
      } else {
        this.anchor = t;
      }
      this.dragging = true;
      this.setSpan(this.anchor, t, "input");      // one history entry per drag (as typing)
      ev.target.closest(".units-chip").focus();
    });
    chips.addEventListener("pointerover", (ev) => {
      const t = tOf(ev.target);
      if (this.dragging && t != null && ev.buttons & 1) this.setSpan(this.anchor, t, "input");
    });
    chips.addEventListener("click", (ev) => {
      // Pointer clicks were handled on pointerdown; this is Enter (or Space) on a focused chip.
      const t = tOf(ev.target);
      if (t == null || ev.detail !== 0) return;
      const span = parseSpan(this.state.span, this.trace.steps.length);
      if (ev.shiftKey && span) this.setSpan(this.anchor ?? span[0], t);
      else { this.anchor = t; this.setSpan(t, t); }
    });
    chips.addEventListener("keydown", (ev) => {
      if (!ev.shiftKey || (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight")) return;
      const t = tOf(ev.target);
      if (t == null) return;
      ev.preventDefault();
      ev.stopPropagation();                       // Shift+arrows extend the span, not the player
      const T = this.trace.steps.length;
      const span = parseSpan(this.state.span, T) || [t, t];
      if (this.anchor == null || this.anchor < span[0] || this.anchor > span[1]) this.anchor = span[0];
      const end = this.anchor === span[0] ? span[1] : span[0];
      const next = Math.max(0, Math.min(T - 1, end + (ev.key === "ArrowRight" ? 1 : -1)));
      this.setSpan(this.anchor, next);
      const chip = this.chips.querySelector(`.units-chip[data-t="${next}"]`);
      if (chip) chip.focus();
    });
  }

  /** Colour every token by the selected unit's value; frame the span; mark the current step. */
  paintChips() {
    const tr = this.trace, vals = this.values(), unit = Math.min(this.state.unit, tr.hidden_size - 1);
    const column = vals.map((v) => (v ? v[unit] : null));
    const finite = column.filter((v) => v != null);
    const scale = Math.max(1, ...finite.map(Math.abs));   // h of tanh cells: −1..1; c may grow
    this.scale = scale;
    const span = parseSpan(this.state.span, tr.steps.length);
    for (const chip of this.chips.children) {
      const t = Number(chip.dataset.t), v = column[t];
      const bg = diverging(v, scale);
      chip.style.background = bg;
      chip.style.color = inkFor(bg);
      chip.querySelector(".units-val").textContent = fmt(v, 2);
      const inSpan = !!span && t >= span[0] && t <= span[1];
      chip.classList.toggle("in-span", inSpan);
      chip.setAttribute("aria-pressed", String(inSpan));
      chip.title = `t = ${t} “${showToken(tr.tokens[t])}”: ${this.source()}[${unit}] = ${fmt(v, 4)}`;
      chip.dataset.value = v == null ? "" : String(v);
    }
    clear(this.legend);
    const bar = el("span", { class: "legend-bar units-legend-bar", "aria-hidden": "true" });
    bar.style.background = `linear-gradient(to right, ${DIVERGING.join(", ")})`;
    this.legend.append(el("span", { class: "legend-label" }, `colour: ${this.source()}_t[${unit}] of unit ${unit}`),
      el("span", {}, fmt(-scale, 1)), bar, el("span", {}, `+${fmt(scale, 1)}`));
    this.markCurrent();
  }

  markCurrent() {
    for (const chip of this.chips.children) chip.classList.toggle("current", Number(chip.dataset.t) === this.state.t);
  }

  /** The ranked units with their scores; a click selects the unit. */
  paintList() {
    const tr = this.trace, list = clear(this.list), T = tr.steps.length;
    const span = parseSpan(this.state.span, T);
    const name = this.source();
    if (!span) {
      list.append(el("p", { class: "hint units-empty" },
        this.state.span ? `The span “${this.state.span}” does not fit this sentence (steps 0 to ${T - 1}): select another.`
          : "Select a span of tokens to list the units most active there."));
      return;
    }
    const ranked = rankUnits(unitScores(this.values(), span), this.state.urank);
    const [a, b] = span;
    const chars = tr.tokens.join("") === this.state.text;    // character tokens: no spaces between
    const spanText = tr.tokens.slice(a, b + 1).map(showToken).join(chars ? "" : " ");
    const head = el("p", { class: "units-def" });
    head.append(document.createTextNode(a === b ? `Span t = ${a} (` : `Span t = ${a}…${b} (`), el("span", { class: "units-span-text" }, `“${spanText}”`),
      document.createTextNode(`). score = mean of ${name}_t[k] over the span − mean over the other ${T - (b - a + 1)} steps.`));
    list.append(head);
    if (!ranked.length) {
      list.append(el("p", { class: "hint" }, "The span covers the whole sentence: there is nothing to compare it with. Select fewer tokens."));
      return;
    }
    const maxAbs = Math.max(1e-12, ...ranked.map((s) => Math.abs(s.score)));
    const table = el("table", { class: "units-table" });
    const headRow = el("tr");
    for (const h of ["#", "unit", "score", "mean in span", "mean outside", ""]) headRow.append(el("th", { scope: "col" }, h));
    const thead = el("thead");
    thead.append(headRow);
    table.append(thead);
    const body = el("tbody");
    ranked.slice(0, Math.min(LIST, tr.hidden_size)).forEach((s, i) => {
      const row = el("tr", { class: s.unit === this.state.unit ? "selected" : null, "data-unit": s.unit,
        "data-score": String(s.score) });
      const btn = el("button", { type: "button", class: "units-pick", "aria-pressed": String(s.unit === this.state.unit),
        title: `Select unit ${s.unit}: every view shows it, and the sentence is coloured by it` }, `unit ${s.unit}`);
      btn.addEventListener("click", () => this.state.set({ unit: s.unit }));
      const barCell = el("td", { class: "units-bar-cell" });
      const bar = el("span", { class: `units-bar ${s.score >= 0 ? "pos" : "neg"}` });
      bar.style.width = `${(50 * Math.abs(s.score)) / maxAbs}%`;
      barCell.append(bar);
      const td = (text, cls) => el("td", { class: cls }, text);
      const pick = el("td");
      pick.append(btn);
      row.append(td(String(i + 1), "num"), pick, td(fmt(s.score), "num score"), td(fmt(s.inside), "num"),
        td(fmt(s.outside), "num"), barCell);
      body.append(row);
    });
    table.append(body);
    list.append(table);
  }
}
