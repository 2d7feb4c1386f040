// Generate: a language model primed with the sentence draws one token at a time, each fed back
// in as the next input (the course's one-to-many picture). The panel steps through the
// generation: the input, the cell, the distribution it drew from, the token drawn.
import { el, svg, clear, showToken, debounce } from "../dom.js";
import { diverging } from "../colors.js";

const W = 960, H = 300;                 // the picture's viewBox
const BARS = { x: 458, width: 200, top: 44, rowMax: 26, height: 208 };
const LABEL_CHARS = 9;                  // a longer token is cut (its full text is in the tooltip)
const FEEDBACK_Y = 262;
const REGENERATE_MS = 150;              // a slider being dragged asks once it rests

function pct(p) {
  if (p == null) return "–";
  if (p === 0 || p === 1) return `${100 * p}%`;
  if (p < 0.001) return "<0.1%";
  if (p > 0.999) return ">99.9%";
  return `${(100 * p).toFixed(1)}%`;
}

const cut = (tok) => (tok.length > LABEL_CHARS ? `${tok.slice(0, LABEL_CHARS - 1)}…` : tok);
/** A token big in its box, smaller when long, so it stays inside. */
const bigSize = (tok) => Math.min(28, Math.floor(150 / Math.max(1, [...tok].length)));

export class GenerateView {
  /** `sample(body)` answers POST /api/sample's body; `maxTokens` and `topK` are the server's. */
  constructor(container, state, { sample, maxTokens = 500, topK = 8 }) {
    this.container = container;
    this.state = state;
    this.sample = sample;
    this.maxTokens = maxTokens;
    this.topK = topK;
    this.result = null;
    this.step = 0;
    this.key = null;
    this.gen = 0;                       // the newest request wins
    this.playGen = 0;                   // a newer play/pause stops an older loop
    this.playing = false;
    this.regenerateSoon = debounce(() => { if (this.visible) this.generate(); }, REGENERATE_MS);
    this.build();
  }

  // ---- the panel's controls -------------------------------------------------------------------
  build() {
    const c = this.container;
    const controls = el("div", { class: "row gen-controls" });
    this.temp = el("input", { type: "range", min: 0, max: 2, step: 0.05, id: "gen-temperature",
      "aria-label": "Temperature" });
    this.tempOut = el("output", { class: "gen-temp-value", for: "gen-temperature" });
    const tempField = el("label", { class: "field", title: "p = softmax(z / T): low T sharpens, high T flattens; 0 always takes the most likely token" }, "Temperature");
    tempField.append(this.temp, this.tempOut);
    this.seed = el("input", { type: "number", min: 0, step: 1, id: "gen-seed", "aria-label": "Seed" });
    const seedField = el("label", { class: "field small", title: "The same seed draws the same tokens" }, "Seed");
    seedField.append(this.seed);
    this.count = el("input", { type: "number", min: 1, max: this.maxTokens, step: 1, id: "gen-n",
      "aria-label": "Tokens to generate" });
    const countField = el("label", { class: "field small", title: `How many tokens to draw (1–${this.maxTokens})` }, "Tokens");
    countField.append(this.count);
    this.button = el("button", { type: "button", class: "gen-go", id: "gen-go",
      title: "Generate, then play it one token at a time" }, "Generate ▶");
    controls.append(tempField, seedField, countField, this.button,
      el("button", { type: "button", class: "info", "data-explain": "generate", "aria-label": "About generating" }, "i"));

    const steps = el("div", { class: "row gen-steps" });
    this.btnFirst = el("button", { type: "button", "aria-label": "First generated token" }, "⇤");
    this.btnBack = el("button", { type: "button", "aria-label": "Previous token", id: "gen-back" }, "←");
    this.btnPlay = el("button", { type: "button", class: "gen-play", id: "gen-play", "aria-label": "Play" }, "▶ Play");
    this.btnFwd = el("button", { type: "button", "aria-label": "Next token", id: "gen-fwd" }, "→");
    this.btnLast = el("button", { type: "button", "aria-label": "Last generated token" }, "⇥");
    this.stepLabel = el("span", { class: "gen-step-label", id: "gen-step-label", "aria-live": "polite" });
    steps.append(this.btnFirst, this.btnBack, this.btnPlay, this.btnFwd, this.btnLast, this.stepLabel);

    this.text = el("div", { class: "gen-text", id: "gen-text", "aria-label": "The prime and the generated text" });
    this.picture = el("div", { class: "gen-picture" });
    this.message = el("p", { class: "hint gen-message", role: "status" });
    c.append(controls, steps, this.text, this.picture, this.message);

    this.temp.addEventListener("input", () => this.state.set({ temperature: Number(this.temp.value) }, "input"));
    this.seed.addEventListener("change", () => {
      const v = Number(this.seed.value);
      if (Number.isInteger(v) && v >= 0 && v <= 2 ** 31 - 1) this.state.set({ seed: v });
      else this.seed.value = String(this.state.seed);
    });
    this.count.addEventListener("change", () => {
      const v = Math.round(Number(this.count.value));
      if (Number.isFinite(v)) this.state.set({ n: Math.max(1, Math.min(this.maxTokens, v)) });
      this.count.value = String(this.state.n);
    });
    this.button.addEventListener("click", () => this.generate({ play: true }));
    this.btnFirst.addEventListener("click", () => { this.pause(); this.show(0); });
    this.btnBack.addEventListener("click", () => { this.pause(); this.show(this.step - 1); });
    this.btnFwd.addEventListener("click", () => { this.pause(); this.show(this.step + 1); });
    this.btnLast.addEventListener("click", () => { this.pause(); this.show(Infinity); });
    this.btnPlay.addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    this.text.addEventListener("click", (ev) => {
      const tok = ev.target.closest("[data-t]");
      if (tok) { this.pause(); this.show(Number(tok.dataset.t)); }
    });
    this.syncControls();
  }

  syncControls() {
    const { temperature, seed, n } = this.state;
    if (Number(this.temp.value) !== temperature) this.temp.value = String(temperature);
    this.tempOut.textContent = temperature === 0 ? "0 · argmax" : temperature.toFixed(2);
    if (document.activeElement !== this.seed) this.seed.value = String(seed);
    if (document.activeElement !== this.count) this.count.value = String(Math.min(n, this.maxTokens));
  }

  get visible() {
    return !this.container.hidden;
  }

  get wanted() {
    const { model, text, temperature, seed, n } = this.state;
    return JSON.stringify([model, text, temperature, seed, Math.min(n, this.maxTokens)]);
  }

  // ---- the view interface (main.js, the controller) -------------------------------------------
  update() { this.render(); }

  append() { this.regenerateSoon(); }      // live typing: a new prime

  reset(reason = "") {
    this.gen++;
    this.pause();
    this.result = null;
    this.key = null;
    clear(this.text);
    clear(this.picture);
    this.stepLabel.textContent = "";
    this.setMessage(reason ? "Fix the sentence first: generation starts from it." : "");
  }

  /** The State changed (or the tab opened): follow it; a new prime or setting generates again. */
  render() {
    this.syncControls();
    if (!this.visible || !this.state.text) return;
    if (this.wanted !== this.key) this.regenerateSoon();
  }

  // ---- generating -----------------------------------------------------------------------------
  async generate({ play = false } = {}) {
    this.regenerateSoon.cancel();
    const { model, text, temperature, seed } = this.state;
    if (!model || !text) return;
    const n = Math.min(this.state.n, this.maxTokens);
    this.key = this.wanted;
    const gen = ++this.gen;
    this.pause();
    this.container.dataset.busy = "1";
    let result;
    try {
      result = await this.sample({ model, prime: text, n, temperature, seed, top_k: this.topK });
    } catch (err) {
      if (gen !== this.gen) return;
      this.result = null;
      clear(this.text);
      clear(this.picture);
      this.stepLabel.textContent = "";
      this.setMessage(err.message, true);
      delete this.container.dataset.busy;
      return;
    }
    if (gen !== this.gen) return;
    const first = this.result == null;
    this.result = result;
    this.setMessage("");
    delete this.container.dataset.busy;
    this.container.dataset.generations = String(Number(this.container.dataset.generations || 0) + 1);
    // A first generation shows all of it; a new temperature or seed keeps the step in view.
    this.show(play ? 0 : first ? Infinity : this.step);
    if (play) this.play();
  }

  setMessage(text, isError = false) {
    this.message.textContent = text;
    this.message.classList.toggle("error-inline", isError);
  }

  // ---- stepping -------------------------------------------------------------------------------
  show(step) {
    const r = this.result;
    if (!r || !r.steps.length) return;
    this.step = Math.max(0, Math.min(r.steps.length - 1, step));
    this.drawText();
    this.drawStep();
  }

  play() {
    const r = this.result;
    if (!r) return;
    if (this.step >= r.steps.length - 1) this.show(0);
    this.playing = true;
    this.paintPlay();
    const gen = ++this.playGen;
    const tick = () => {
      if (gen !== this.playGen) return;
      if (this.step >= this.result.steps.length - 1) { this.pause(); return; }
      this.show(this.step + 1);
      setTimeout(tick, 1000 / (this.state.speed || 4));
    };
    setTimeout(tick, 1000 / (this.state.speed || 4));
  }

  pause() {
    this.playGen++;
    if (this.playing) { this.playing = false; this.paintPlay(); }
  }

  paintPlay() {
    this.btnPlay.textContent = this.playing ? "❚❚ Pause" : "▶ Play";
    this.btnPlay.setAttribute("aria-label", this.playing ? "Pause" : "Play");
  }

  // ---- driven by the main player (its buttons and keys, while this tab is open) ----------------
  /** Does this view take the player's buttons and keys now? (open, with a generation) */
  get drivesPlayer() {
    return this.visible && this.result != null && this.result.steps.length > 0;
  }

  stepBy(delta) { this.pause(); this.show(this.step + delta); }
  first() { this.pause(); this.show(0); }
  end() { this.pause(); this.show(Infinity); }
  toggle() { if (this.playing) this.pause(); else this.play(); }

  // ---- drawing --------------------------------------------------------------------------------
  /** The prime, then the tokens drawn so far; the one drawn at this step highlighted. */
  drawText() {
    const r = this.result, box = clear(this.text);
    const sep = r.vocab_kind === "word" ? " " : "";
    const unknown = new Set(r.prime_unknown || []);
    r.prime.forEach((tok, i) => {
      const text = (i ? sep : "") + tok;
      if (!unknown.has(i)) box.append(el("span", { class: "gen-prime", title: "The prime: your sentence" }, text));
      else box.append(el("span", { class: "gen-prime unknown", title: "The model does not know this token" }, text));
    });
    for (let t = 0; t <= this.step; t++) {
      const tok = r.steps[t].token;
      const shown = tok === "\n" ? "↵\n" : tok;
      box.append(el("span", { class: t === this.step ? "gen-tok current" : "gen-tok", "data-t": t,
        title: `Drawn at step ${t + 1} of ${r.steps.length}` }, sep + shown));
    }
    this.text.dataset.generated = r.steps.slice(0, this.step + 1).map((s) => s.token).join(sep);
  }

  drawStep() {
    const r = this.result, f = r.steps[this.step];
    const s = r.prime.length - 1 + f.t;       // the step in the whole sequence, as the trace counts
    const T = r.temperature;
    this.stepLabel.textContent = `token ${f.t + 1} / ${r.steps.length} · step s = ${s} · drew “${showToken(f.token)}”`;
    this.stepLabel.dataset.step = String(f.t);

    const root = svg("svg", { class: "gen-svg", viewBox: `0 0 ${W} ${H}`, role: "img",
      "aria-label": `Step ${s}: input ${showToken(f.input_token)}, drew ${showToken(f.token)}, fed back in as the next input` });
    const defs = svg("defs");
    const marker = svg("marker", { id: "gen-arrowhead", viewBox: "0 0 10 10", refX: 9, refY: 5,
      markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.append(svg("path", { d: "M0,0 L10,5 L0,10 z", class: "gen-arrowhead" }));
    defs.append(marker);
    root.append(defs);
    const arrow = (x1, y1, x2, y2, cls = "gen-arrow") =>
      svg("line", { x1, y1, x2, y2, class: cls, "marker-end": "url(#gen-arrowhead)" });

    // input x_s
    root.append(svg("text", { x: 65, y: 76, class: "gen-label", "text-anchor": "middle" }, `input x${sub(s)}`));
    root.append(svg("rect", { x: 10, y: 84, width: 110, height: 64, rx: 8, class: "gen-tokbox" }));
    root.append(svg("text", { x: 65, y: 126, class: "gen-big", "text-anchor": "middle", "data-role": "input",
      style: `font-size: ${bigSize(showToken(f.input_token))}px` }, showToken(f.input_token)));
    if (f.input_seen_as !== f.input_token) {   // a prime token the model does not know, or normalised
      const read = f.input_seen_as == null ? "read: zero vector" : `read as “${showToken(f.input_seen_as)}”`;
      root.append(svg("text", { x: 65, y: 143, class: "gen-small gen-seen", "text-anchor": "middle" }, read));
    }
    root.append(arrow(122, 116, 158, 116));

    // the cell and its state
    const cell = svg("g", { class: "gen-cell" });
    cell.append(svg("text", { x: 245, y: 62, class: "gen-label", "text-anchor": "middle" }, `${r.cell.toUpperCase()} cell`));
    cell.append(svg("rect", { x: 160, y: 70, width: 170, height: 92, rx: 10, class: "gen-cellbox" }));
    this.strip(cell, f.h, 102, `h${sub(s)}`);
    if (f.c) this.strip(cell, f.c, 136, `c${sub(s)}`);
    root.append(cell, arrow(332, 116, 356, 116));

    // the distribution it draws from
    const title = T === 0 ? "next token: T = 0 takes the argmax" : `next token: p = softmax(z / ${T.toFixed(2)})`;
    root.append(svg("text", { x: 370, y: 28, class: "gen-label" }, title));
    const rows = f.top.map((q) => ({ ...q, drawn: q.index === f.id }));
    if (!rows.some((q) => q.drawn)) rows.push({ index: f.id, token: f.token, p: f.p, p_model: f.p_model, drawn: true, extra: true });
    const rh = Math.min(BARS.rowMax, BARS.height / rows.length);
    const bars = svg("g", { class: "gen-bars" });
    rows.forEach((q, i) => {
      const y = BARS.top + i * rh + (q.extra ? 4 : 0);
      const row = svg("g", { class: q.drawn ? "gen-row drawn" : "gen-row", "data-index": q.index, "data-p": q.p,
        "data-token": q.token });
      row.append(svg("title", {}, `“${showToken(q.token)}”: p = ${pct(q.p)} at T = ${T}, ${pct(q.p_model)} at T = 1 (the model's own)`));
      row.append(svg("text", { x: BARS.x - 8, y: y + rh * 0.7, class: "gen-tok-label", "text-anchor": "end" }, cut(showToken(q.token))));
      row.append(svg("rect", { x: BARS.x, y: y + 2, width: BARS.width, height: rh - 5, class: "gen-bar-bg" }));
      row.append(svg("rect", { x: BARS.x, y: y + 2, width: Math.max(0, BARS.width * q.p), height: rh - 5, class: "gen-bar" }));
      const mx = BARS.x + BARS.width * q.p_model;
      row.append(svg("line", { x1: mx, x2: mx, y1: y, y2: y + rh - 1, class: "gen-model-p" }));
      const note = pct(q.p) !== pct(q.p_model) ? ` · T=1 ${pct(q.p_model)}` : "";
      row.append(svg("text", { x: BARS.x + BARS.width + 8, y: y + rh * 0.7, class: "gen-p" }, `${pct(q.p)}${note}${q.drawn ? " ◀" : ""}`));
      bars.append(row);
    });
    root.append(bars, arrow(842, 116, 858, 116));

    // the token drawn ...
    root.append(svg("text", { x: 905, y: 76, class: "gen-label", "text-anchor": "middle" }, `drawn x${sub(s + 1)}`));
    root.append(svg("rect", { x: 860, y: 84, width: 90, height: 64, rx: 8, class: "gen-tokbox drawn" }));
    root.append(svg("text", { x: 905, y: 126, class: "gen-big", "text-anchor": "middle", "data-role": "drawn",
      style: `font-size: ${bigSize(showToken(f.token))}px` }, showToken(f.token)));
    // ... fed back in as the next input: the one-to-many loop
    root.append(svg("path", { d: `M905,150 V${FEEDBACK_Y} H65 V152`, class: "gen-feedback",
      "marker-end": "url(#gen-arrowhead)" }));
    root.append(svg("text", { x: 480, y: FEEDBACK_Y + 26, class: "gen-label gen-feedback-label", "text-anchor": "middle" },
      `fed back in: “${showToken(f.token)}” is the input x${sub(s + 1)} of the next step`));
    clear(this.picture).append(root);
  }

  /** One row of coloured squares, one per hidden unit (blue negative, orange positive). */
  strip(g, values, y, label) {
    const n = values.length, x0 = 200, width = 120, w = width / n;
    g.append(svg("text", { x: 194, y: y + 13, class: "gen-small", "text-anchor": "end" }, label));
    values.forEach((v, i) => {
      g.append(svg("rect", { x: x0 + i * w, y, width: w + 0.2, height: 18, fill: diverging(v, 1) }));
    });
    g.append(svg("rect", { x: x0, y, width, height: 18, class: "gen-strip-frame" }));
  }
}

/** A subscript step number: x₃, h₁₂ (the picture's text stays plain text). */
function sub(n) {
  return String(n).replace(/[0-9]/g, (d) => "₀₁₂₃₄₅₆₇₈₉"[d]).replace("-", "₋");
}
