// "Bring your own model": a PyTorch state dict (.pt/.pth, or the .npz scripts/pt_to_npz.py
// writes) or an Unrolled .npz goes to POST /api/models/import with what the file cannot say:
// the vocabulary, the labels of a classifier, and for an RNN its nonlinearity (a state dict
// does not record whether nn.RNN used tanh or relu, so the page asks, and never guesses).
// A file can also be dropped onto the panel or anywhere on the page: it fills the file field
// (the same checks apply; the server's refusal is shown as it comes).
import { el } from "../dom.js";

export const MODEL_FILE = /\.(npz|pt|pth)$/i;

/** The vocabulary field as the API wants it (a JSON array), from what a teacher types: a JSON
 * array, one token per line, or (character models) the characters themselves. */
export function vocabField(text, kind) {
  const t = text.trim();
  if (!t) return null;
  if (t.startsWith("[")) return t;
  const tokens = kind === "word" || t.includes("\n") ? t.split(/\r?\n/).filter((s) => s !== "")
    : Array.from(t);
  return JSON.stringify(tokens);
}

function labelsField(text) {
  const t = text.trim();
  if (!t) return null;
  return t.startsWith("[") ? t : JSON.stringify(t.split(",").map((s) => s.trim()).filter(Boolean));
}

export class ImportPanel {
  /** `onImported(model)` is called with the new model's detail once the server has it. */
  constructor(root, { onImported }) {
    this.root = root;
    this.onImported = onImported;
    this.form = root.querySelector("form");
    this.status = root.querySelector("[data-import-status]");
    this.cell = this.form.elements.cell;
    this.nonlinearity = root.querySelector("[data-nonlinearity]");
    this.cell.addEventListener("change", () => this.renderCell());
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.send(); });
    this.renderCell();
    this.bindDrop(document);
  }

  /** Files dragged over `target` (the whole page): the panel shows where they go; a drop puts
   * the file in the form, opens the panel and says what is left to answer. */
  bindDrop(target) {
    const hasFiles = (ev) => ev.dataTransfer && [...ev.dataTransfer.types].includes("Files");
    let depth = 0;
    const done = () => { depth = 0; this.root.classList.remove("dropping"); };
    target.addEventListener("dragenter", (ev) => {
      if (!hasFiles(ev)) return;
      depth++;
      this.root.classList.add("dropping");
    });
    target.addEventListener("dragleave", (ev) => {
      if (hasFiles(ev) && --depth <= 0) done();
    });
    target.addEventListener("dragover", (ev) => {
      if (!hasFiles(ev)) return;
      ev.preventDefault();   // allow the drop (the browser would otherwise open the file)
      ev.dataTransfer.dropEffect = "copy";
    });
    target.addEventListener("drop", (ev) => {
      if (!hasFiles(ev)) return;
      ev.preventDefault();
      done();
      this.take(ev.dataTransfer.files);
    });
  }

  /** A dropped file list: one model file goes into the form; anything else is refused here. */
  take(files) {
    const details = this.root.querySelector("details");
    if (details) details.open = true;
    if (!files || files.length !== 1) return this.say("Drop one model file (.npz, .pt or .pth).", "error");
    const file = files[0];
    if (!MODEL_FILE.test(file.name)) {
      return this.say(`${file.name} is not a model file: drop an .npz, .pt or .pth file.`, "error");
    }
    const input = this.form.elements.file;
    const dt = new DataTransfer();
    dt.items.add(file);
    input.files = dt.files;
    this.dropped = file;
    this.root.scrollIntoView({ block: "nearest" });
    this.say(`Ready to import ${file.name}: answer what the file cannot say, then Import.`);
  }

  renderCell() {
    // An RNN (or a file whose cell the server infers) may need the nonlinearity: shown unless
    // the teacher said LSTM or GRU, whose gates are fixed.
    const gated = this.cell.value === "lstm" || this.cell.value === "gru";
    this.nonlinearity.hidden = gated;
  }

  say(text, kind = "info") {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  async send() {
    const f = this.form.elements;
    const file = f.file.files[0] || this.dropped;
    if (!file) return this.say("Choose a model file first.", "error");
    const body = new FormData();
    body.append("file", file, file.name);
    if (f.cell.value) body.append("cell", f.cell.value);
    const picked = this.form.querySelector("input[name=nonlinearity]:checked");
    if (picked && !this.nonlinearity.hidden) body.append("nonlinearity", picked.value);
    const vocab = vocabField(f.vocab.value, f.vocab_kind.value);
    if (vocab) body.append("vocab", vocab);
    body.append("vocab_kind", f.vocab_kind.value);
    const labels = labelsField(f.labels.value);
    if (labels) body.append("labels", labels);
    if (f.normalize.value) body.append("normalize", f.normalize.value);
    if (f.name.value.trim()) body.append("name", f.name.value.trim());
    this.say(`Sending ${file.name}…`);
    let resp;
    try {
      resp = await fetch("/api/models/import", { method: "POST", body });
    } catch (err) {
      return this.say(`The server could not be reached (${err.message}).`, "error");
    }
    let answer = null;
    try { answer = await resp.json(); } catch { /* not JSON */ }
    if (!resp.ok) {
      const detail = answer && typeof answer.detail === "string" ? answer.detail : resp.statusText;
      return this.say(detail, "error");
    }
    this.form.reset();
    this.dropped = null;
    this.renderCell();
    await this.onImported(answer);   // listed and selected before the panel says it is done
    this.say(`Imported as ${answer.id}: ${answer.description}`, "ok");
  }
}

/** The panel's form, built here so the template only holds its place. */
export function importForm() {
  const radio = (value, label) => el("label", { class: "choice" }, null).appendChild(
    el("input", { type: "radio", name: "nonlinearity", value })).parentNode.appendChild(
    document.createTextNode(label)).parentNode;
  const field = (label, input, hint) => {
    const wrap = el("label", { class: "field import-field" }, label);
    wrap.append(input);
    if (hint) wrap.append(el("span", { class: "hint" }, hint));
    return wrap;
  };
  const select = (name, options) => {
    const s = el("select", { name });
    for (const [value, text] of options) s.append(el("option", { value }, text));
    return s;
  };
  const form = el("form", { class: "import-form", "data-import-form": "" });
  form.append(
    field("File", el("input", { type: "file", name: "file", accept: ".npz,.pt,.pth" }),
      ".pt/.pth state dict (model.state_dict()), or an .npz; or drop it anywhere on the page"),
    field("Cell", select("cell", [["", "read it from the file"], ["rnn", "RNN"],
      ["lstm", "LSTM"], ["gru", "GRU"]])),
  );
  const nl = el("fieldset", { class: "import-field", "data-nonlinearity": "" });
  nl.append(el("legend", {}, "An RNN's nonlinearity (its file cannot say)"),
    radio("tanh", "tanh"), radio("relu", "ReLU"));
  form.append(nl,
    field("Vocabulary", el("textarea", { name: "vocab", rows: "2",
      placeholder: "helo  (characters), one word per line, or a JSON array" }),
    "leave empty if the file has a vocab array"),
    field("Tokens are", select("vocab_kind", [["char", "characters"], ["word", "words"]])),
    field("Capitals", select("normalize", [["", "as the file says (else as typed)"],
      ["lower", "lower-case what it reads (Are → are)"], ["none", "read as typed"]]),
    "a model trained on lower-case text should lower-case"),
    field("Labels", el("input", { type: "text", name: "labels", placeholder: "classifiers: negative, positive" })),
    field("Name", el("input", { type: "text", name: "name", maxlength: "60" })),
    el("button", { type: "submit" }, "Import"),
  );
  return form;
}
