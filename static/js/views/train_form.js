// The Train panel's form: where the text comes from (typed, a .txt file, or a preset), the model
// (cell, hidden size, layers) and the training (learning rate, sequence length, steps), each
// checked against the server's limits before anything is sent. User text only ever goes into
// the textarea's value and textContent.
import { el } from "../dom.js";

const BYTES_PER_CHAR = 4;   // UTF-8: a file this many times the limit cannot fit, unread

/** A number field's rule: whole or not, its bounds (from the server's settings). */
function numberField(name, label, { min, max, step, value, whole = true, title }) {
  const input = el("input", { type: "number", name, min, max, step, value, id: `train-${name}`,
    "aria-describedby": `train-${name}-error` });
  const wrap = el("label", { class: "field train-field", title }, label);
  wrap.append(input);
  const error = el("span", { class: "field-error", id: `train-${name}-error`, role: "alert", hidden: true });
  return { name, input, wrap, error, min, max, whole, label };
}

function readNumber(f) {
  const raw = f.input.value.trim();
  const v = Number(raw);
  const bad = raw === "" || !Number.isFinite(v) || v < f.min || v > f.max || (f.whole && !Number.isInteger(v));
  f.error.hidden = !bad;
  f.error.textContent = bad ? `${f.label}: ${f.whole ? "a whole number" : "a number"} from ${f.min} to ${f.max}.` : "";
  f.input.setAttribute("aria-invalid", bad ? "true" : "false");
  return bad ? null : v;
}

const count = (n) => n.toLocaleString("en-US");

export class TrainForm {
  /** `limits`: the server's train_max_* settings; `say(text, kind)` shows a message. */
  constructor(root, limits, say) {
    this.root = root;
    this.limits = limits;
    this.say = say;
    this.presets = [];
    this.build();
  }

  build() {
    const L = this.limits;
    this.source = el("select", { id: "train-source", "aria-label": "Training text" });
    this.source.append(el("option", { value: "" }, "your own text (type, paste or upload)"));
    const sourceField = el("label", { class: "field" }, "Text");
    sourceField.append(this.source);
    this.file = el("input", { type: "file", id: "train-file", accept: ".txt,text/plain",
      "aria-label": "Upload a .txt file" });
    const fileField = el("label", { class: "field", title: `A UTF-8 text file of at most ${count(L.text)} characters` }, "or a .txt file");
    fileField.append(this.file);
    this.text = el("textarea", { id: "train-text", rows: "4", maxlength: String(L.text), spellcheck: "false",
      "aria-label": "The text to train on", placeholder: "Type or paste the text the model should learn to continue…" });
    this.counter = el("span", { class: "hint train-counter", id: "train-counter", "aria-live": "polite" });

    this.cell = el("select", { name: "cell", id: "train-cell", "aria-label": "Cell" });
    for (const [v, t] of [["lstm", "LSTM"], ["gru", "GRU"], ["rnn", "RNN"]]) this.cell.append(el("option", { value: v }, t));
    const cellField = el("label", { class: "field train-field" }, "Cell");
    cellField.append(this.cell);
    this.numbers = [
      numberField("hidden_size", "Hidden size", { min: 1, max: L.hidden, step: 1, value: Math.min(32, L.hidden),
        title: `Hidden units per layer (1–${L.hidden})` }),
      numberField("layers", "Layers", { min: 1, max: L.layers, step: 1, value: 1, title: `Stacked layers (1–${L.layers})` }),
      numberField("lr", "Learning rate", { min: 0.0001, max: 10, step: "any", value: 0.01, whole: false,
        title: "Adam's step size (0.0001–10); 0.01 suits most small models" }),
      numberField("seq_len", "Sequence length", { min: 1, max: L.seqLen, step: 1, value: Math.min(25, L.seqLen),
        title: `Characters per chunk: the truncated-BPTT length (1–${L.seqLen})` }),
      numberField("steps", "Steps", { min: 1, max: L.steps, step: 1, value: Math.min(300, L.steps),
        title: `Parameter updates, one per chunk (1–${L.steps})` }),
    ];
    const grid = el("div", { class: "train-grid" });
    grid.append(cellField, ...this.numbers.map((f) => f.wrap));
    const errors = el("div", { class: "train-errors" });
    errors.append(...this.numbers.map((f) => f.error));
    const bptt = el("p", { class: "hint train-bptt", id: "train-bptt" });
    const explain = () => {
      const k = this.numbers[3].input.value || "k";
      bptt.textContent = `Truncated BPTT: the text is cut into chunks of ${k} characters. Each step reads one chunk, ` +
        `predicts every next character, backpropagates through those ${k} steps only and updates the weights (Adam); ` +
        "the hidden state at the end of a chunk is carried into the next one, but no gradient crosses the boundary.";
    };
    this.numbers[3].input.addEventListener("input", explain);
    explain();

    const row = el("div", { class: "row" });
    row.append(sourceField, fileField, this.counter);
    this.root.append(row, this.text, grid, errors, bptt);

    this.source.addEventListener("change", () => this.usePreset(this.source.value));
    this.file.addEventListener("change", () => this.readFile());
    this.text.addEventListener("input", () => { this.source.value = ""; this.showCount(); });
    for (const f of this.numbers) f.input.addEventListener("change", () => readNumber(f));
    this.showCount();
  }

  setPresets(presets) {
    this.presets = presets;
    for (const p of presets) {
      const opt = el("option", { value: p.id }, `${p.name} (${count(p.text.length)} characters)`);
      opt.title = p.description;
      this.source.append(opt);
    }
  }

  usePreset(id) {
    const p = this.presets.find((x) => x.id === id);
    if (!p) return;
    this.text.value = p.text;
    this.source.value = id;
    this.showCount();
  }

  showCount() {
    const n = this.text.value.length;
    this.counter.textContent = `${count(n)} / ${count(this.limits.text)} characters`;
  }

  /** A .txt file: its size checked before it is read, its length after; never sent as is. */
  async readFile() {
    const file = this.file.files[0];
    if (!file) return;
    const limit = this.limits.text;
    const refuse = (why) => { this.file.value = ""; this.say(why, "error"); };
    if (file.size > limit * BYTES_PER_CHAR) {
      return refuse(`${file.name} is ${count(file.size)} bytes: too long. This server trains on at most ` +
        `${count(limit)} characters (setting train_max_text_chars); use a shorter file or paste part of it.`);
    }
    let text;
    try {
      text = await file.text();
    } catch (err) {
      return refuse(`${file.name} could not be read (${err.message}).`);
    }
    text = text.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
    if (text.includes("\uFFFD")) return refuse(`${file.name} is not UTF-8 text; save it as UTF-8 and try again.`);
    if (text.length > limit) {
      return refuse(`${file.name} has ${count(text.length)} characters; this server trains on at most ` +
        `${count(limit)} (setting train_max_text_chars). Use a shorter file or paste part of it.`);
    }
    if (text.length < 2) return refuse(`${file.name} needs at least two characters to learn from.`);
    this.text.value = text;
    this.source.value = "";
    this.showCount();
    this.say(`Read ${file.name}: ${count(text.length)} characters.`, "ok");
  }

  /** The POST /api/train body, or null (the reason shown) when something is not allowed. */
  request() {
    const values = {};
    let ok = true;
    for (const f of this.numbers) {
      const v = readNumber(f);
      if (v == null) ok = false;
      values[f.name] = v;
    }
    const text = this.text.value;
    if (text.length < 2) { this.say("Give at least two characters of text to train on.", "error"); return null; }
    if (text.length > this.limits.text) {
      this.say(`The text has ${count(text.length)} characters; at most ${count(this.limits.text)}.`, "error");
      return null;
    }
    if (!ok) { this.say("Fix the fields marked above first.", "error"); return null; }
    const preset = this.presets.find((p) => p.id === this.source.value);
    return { task: "text", text, cell: this.cell.value, ...values,
      name: preset ? `${this.cell.value}-${preset.id}` : `${this.cell.value}-own-text` };
  }

  setDisabled(disabled) {
    for (const node of [this.source, this.file, this.text, this.cell, ...this.numbers.map((f) => f.input)]) {
      node.disabled = disabled;
    }
  }
}
