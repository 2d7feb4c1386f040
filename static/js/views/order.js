// Order matters: two sentences with the same words in another order. A bag-of-words network
// receives the same input vector for both (the sum of the tokens' one-hot rows, drawn here as
// the course's [0 1 0 1 0 0 0 0 1] picture), so it must give the same answer; the recurrent
// model, trained on the same sentences, reads them in order and can tell them apart. Both
// models' accuracy on the same sentences is shown as the server measured it.
import { el, clear, debounce } from "../dom.js";
import { fetchBowModels, predictBow, fetchModel } from "../api.js";

const ALL_COLUMNS = 40;     // a vocabulary this small is drawn whole, like the course's picture
const TYPING_MS = 300;
/** Each model's default pair; another model starts from its example, its words reversed. */
const PAIRS = {
  "bow-question": ["you are good", "are you good"],
  "bow-sentiment": ["it was good , not bad", "it was bad , not good"],
};

const pct = (p) => `${(100 * p).toFixed(1)}%`;

/** The columns drawn: every vocabulary id, or the ids used with gaps between them. */
export function columns(V, used) {
  if (V <= ALL_COLUMNS) return [...Array(V).keys()].map((id) => ({ id }));
  const ids = [...new Set(used)].filter((id) => id >= 0).sort((a, b) => a - b);   // -1: no token
  const out = [];
  let next = 0;
  for (const id of ids) {
    if (id > next) out.push({ gap: id - next });
    out.push({ id });
    next = id + 1;
  }
  if (next < V) out.push({ gap: V - next });
  return out;
}

export class OrderView {
  constructor(container, state) {
    this.container = container;
    this.state = state;
    this.models = null;         // GET /api/bow
    this.vocabs = new Map();    // companion id -> its vocabulary (the bag's too)
    this.answers = null;        // [A, B] of POST /api/bow/predict
    this.key = null;
    this.gen = 0;
    this.typed = debounce(() => this.state.set({ order_a: this.inputA.value, order_b: this.inputB.value }, "input"), TYPING_MS);
    this.build();
  }

  build() {
    const head = el("div", { class: "row order-controls" });
    this.select = el("select", { id: "order-model", "aria-label": "Bag-of-words model" });
    const pick = el("label", { class: "field" }, "Bag-of-words model");
    pick.append(this.select);
    this.inputA = el("input", { type: "text", id: "order-a", autocomplete: "off", spellcheck: "false", maxlength: "200" });
    this.inputB = el("input", { type: "text", id: "order-b", autocomplete: "off", spellcheck: "false", maxlength: "200" });
    const fieldA = el("label", { class: "field grow" }, "Sentence A");
    fieldA.append(this.inputA);
    const fieldB = el("label", { class: "field grow" }, "Sentence B");
    fieldB.append(this.inputB);
    head.append(pick, fieldA, fieldB,
      el("button", { type: "button", class: "info", "data-explain": "order", "aria-label": "About order" }, "i"));
    this.vectors = el("div", { class: "order-vectors" });
    this.verdict = el("p", { class: "order-verdict", id: "order-verdict", role: "status" });
    this.table = el("div", { class: "order-answers" });
    this.accuracy = el("p", { class: "order-accuracy", id: "order-accuracy" });
    this.message = el("p", { class: "hint order-message", role: "status" });
    this.container.append(head, this.vectors, this.verdict, this.table, this.accuracy, this.message);
    this.select.addEventListener("change", () => this.state.set({ bow: this.select.value, order_a: "", order_b: "" }));
    this.inputA.addEventListener("input", () => this.typed());
    this.inputB.addEventListener("input", () => this.typed());
  }

  get visible() { return !this.container.hidden; }

  // ---- the view interface --------------------------------------------------------------------
  update() { this.render(); }
  reset() {}
  append() {}

  async render() {
    if (!this.visible) return;
    if (!this.models) {
      this.loading = this.loading || fetchBowModels();
      let models;
      try {
        models = await this.loading;
      } catch (err) {
        this.loading = null;
        this.say(`Could not load the bag-of-words models: ${err.message}`);
        return;
      }
      if (this.models) return this.render();   // another call filled the menu meanwhile
      this.models = models;
      clear(this.select);
      for (const m of this.models) {
        this.select.append(el("option", { value: m.id }, `${m.id} · beside ${m.companion}`));
      }
    }
    const model = this.model();
    if (!model) { this.say("This server has no bag-of-words model."); return; }
    this.select.value = model.id;
    const [a, b] = this.sentences(model);
    if (document.activeElement !== this.inputA) this.inputA.value = a;
    if (document.activeElement !== this.inputB) this.inputB.value = b;
    const key = JSON.stringify([model.id, a, b]);
    if (key === this.key) return;
    this.key = key;
    const gen = ++this.gen;
    this.container.dataset.busy = "1";
    try {
      if (!this.vocabs.has(model.companion)) {
        this.vocabs.set(model.companion, (await fetchModel(model.companion)).vocab);
      }
      const answers = await Promise.all([a, b].map((text) => predictBow({ model: model.id, text })));
      if (gen !== this.gen) return;
      this.answers = answers;
      this.say("");
      this.draw(model, answers, this.vocabs.get(model.companion));
    } catch (err) {
      if (gen !== this.gen) return;
      this.answers = null;
      clear(this.vectors); clear(this.table);
      this.verdict.textContent = "";
      this.say(err.message);
    } finally {
      if (gen === this.gen) delete this.container.dataset.busy;
    }
  }

  /** The model shown: the one chosen, else the companion of the model being explored. */
  model() {
    const ms = this.models || [];
    return ms.find((m) => m.id === this.state.bow) || ms.find((m) => m.companion === this.state.model) || ms[0];
  }

  sentences(model) {
    const pair = PAIRS[model.id] || [model.example, model.example.split(" ").reverse().join(" ")];
    return [this.state.order_a || pair[0], this.state.order_b || pair[1]];
  }

  say(text) {
    this.message.textContent = text;
    this.message.classList.toggle("error-inline", Boolean(text));
  }

  // ---- drawing --------------------------------------------------------------------------------
  draw(model, answers, vocab) {
    const V = answers[0].vocab_size;
    const cols = columns(V, answers.flatMap((r) => r.ids));
    clear(this.vectors);
    answers.forEach((r, i) => this.vectors.append(this.matrix(r, cols, vocab, i ? "B" : "A")));
    const same = JSON.stringify(answers[0].bag) === JSON.stringify(answers[1].bag);
    this.container.dataset.sameVector = same ? "1" : "0";
    this.verdict.textContent = same
      ? "Same words, same counts: the bag-of-words network receives the same vector x for both sentences, so it must give the same answer."
      : "The two sentences do not have the same words: their vectors differ (change one to reorder the other's words).";
    this.verdict.classList.toggle("same", same);
    this.drawAnswers(model, answers);
    const ev = model.evaluation;
    this.accuracy.textContent = ev ? `Measured on the same ${ev.size} ${ev.set === "held-out"
      ? "held-out sentences (neither model trained on them)"
      : `sentences (the task's; ${model.companion} was trained on them, and the task has no others)`}: ` +
      `bag of words ${pct(ev.accuracy)} correct · ${model.companion} ${pct(ev.companion_accuracy)} correct.` : "";
  }

  /** One sentence as one-hot rows (one per token) and their sum, the input vector x. */
  matrix(r, cols, vocab, name) {
    const wrap = el("figure", { class: "order-matrix", "data-sentence": name });
    wrap.append(el("figcaption", {}, `Sentence ${name}: “${r.tokens.join(" ")}” → x = the sum of ${r.tokens.length} one-hot rows`));
    const scroll = el("div", { class: "order-scroll" });
    const table = el("table", { class: "onehot-table" });
    const head = el("tr");
    head.append(el("th", { class: "corner" }, "token → word"));
    for (const c of cols) {
      head.append(c.gap ? el("th", { class: "word gap", title: `${c.gap} other words of the vocabulary: 0 in every row` },
        `… ${c.gap.toLocaleString("en")} more`)
        : el("th", { class: "word", title: `id ${c.id}` }, vocab ? vocab[c.id] : String(c.id)));
    }
    table.append(head);
    r.tokens.forEach((tok, t) => {
      const row = el("tr", { "data-t": t });
      const unknown = r.unknown[t];
      row.append(el("th", { class: unknown ? "tok unknown" : "tok",
        title: unknown ? `not in the vocabulary: read as ${r.seen_as[t] ?? "the zero vector (a row with no 1)"}` : `id ${r.ids[t]}` },
      unknown ? `‹${tok}›?` : tok));
      for (const c of cols) {
        const one = !c.gap && c.id === r.ids[t];
        row.append(el("td", { class: one ? "one" : c.gap ? "gap" : "" }, c.gap ? "0 …" : one ? "1" : "0"));
      }
      table.append(row);
    });
    const counts = new Map(r.bag.map((b) => [b.id, b.count]));
    const sum = el("tr", { class: "sum" });
    sum.append(el("th", { class: "tok" }, "x = Σ"));
    for (const c of cols) {
      const n = c.gap ? 0 : counts.get(c.id) || 0;
      sum.append(el("td", { class: n ? "one" : c.gap ? "gap" : "", "data-id": c.gap ? null : c.id }, c.gap ? "0 …" : String(n)));
    }
    table.append(sum);
    scroll.append(table);
    wrap.append(scroll);
    wrap.dataset.vector = JSON.stringify(r.bag.map((b) => [b.id, b.count]));
    return wrap;
  }

  drawAnswers(model, answers) {
    const table = el("table", { class: "order-table" });
    const head = el("tr");
    head.append(el("th", {}, "model"), el("th", {}, "Sentence A"), el("th", {}, "Sentence B"));
    table.append(head);
    const cellFor = (probs, labels, label, who, s) => {
      const i = labels.indexOf(label);
      const td = el("td", { "data-model": who, "data-sentence": s, "data-label": label, "data-p": probs[i] });
      td.append(el("strong", {}, label), document.createTextNode(` ${pct(probs[i])}`));
      const bar = el("span", { class: "order-bar" });
      bar.append(el("span", { style: `width: ${(100 * probs[i]).toFixed(1)}%` }));
      td.append(bar);
      return td;
    };
    const bowRow = el("tr", { class: "bow" });
    bowRow.append(el("th", {}, `bag of words (${model.hidden_size} hidden units)`));
    answers.forEach((r, i) => bowRow.append(cellFor(r.probs, r.labels, r.label, "bow", i ? "B" : "A")));
    const rnnRow = el("tr", { class: "rnn" });
    const c = answers[0].companion;
    rnnRow.append(el("th", {}, `${c.cell.toUpperCase()} ${c.model} (reads in order)`));
    answers.forEach((r, i) => rnnRow.append(cellFor(r.companion.probs, r.labels, r.companion.label, "rnn", i ? "B" : "A")));
    table.append(bowRow, rnnRow);
    clear(this.table).append(table);
  }
}
