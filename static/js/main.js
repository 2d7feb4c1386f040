// Entry point for both pages: / (the explorer) and /embed (the compact view for iframes).
// Builds the State, the Player, the Controller and the views, then wires them together.
import { State, syncUrl } from "./state.js";
import { Player } from "./player.js";
import { Controller } from "./controller.js";
import { fetchModels, fetchModel } from "./api.js";
import { el, clear, debounce } from "./dom.js";
import { DEBOUNCE_MS } from "./config.js";
import { registerExplanations } from "./explain.js";
import { bindPlayer, bindKeyboard, bindTheme, applyTheme, bindTabs, bindCopy, trackStickyHeights,
  bindNumberField, positiveNumber, wholeNumberAtLeastOne, bindLayerSelect, bindTruncateMode } from "./controls.js";
import { UnrolledView } from "./views/unrolled.js";
import { CellView } from "./views/cell.js";
import { TokensView } from "./views/tokens.js";
import { EquationsView } from "./views/equations.js";
import { HeatmapsView } from "./views/heatmaps.js";
import { GradientsView } from "./views/gradients.js";
import { CompareView } from "./views/compare.js";
import { GenerateView } from "./views/generate.js";
import { PathView } from "./views/path.js";
import { UnitsView } from "./views/units.js";
import { bindEmbedViews } from "./embed_views.js";
import { DiagramView } from "./views/diagram.js";
import { offline, markOffline } from "./offline.js";
import { KINDS, kindOf, fetchWhatIf } from "./kinds.js";
import { bindKindInputs } from "./kind_controls.js";
import { OrderView } from "./views/order.js";
import { bindPresentation } from "./present.js";   // static: ?present=1 restyles the page at once

// What the first drawing of a sequence model does not need is imported beside the first trace
// (main.js runs only once every module it imports statically has arrived); the page is ready
// only once these are bound too (docs/architecture.md, "Keeping the first load quick").
const later = Promise.all([
  import("./images.js"), import("./views/seq2seq_page.js"), import("./views/tree.js"),
  ...(document.body.dataset.page === "embed" ? [] : [import("./download.js"), import("./views/import.js"),
    import("./views/train.js"), import("./classroom.js")]),
]).then(([images, seq2seq, tree, download, importer, train, classroom]) =>
  ({ images, seq2seq, tree, download, importer, train, classroom }));
let laterBound = false;   // bindLater ran (the page is not ready before)

const $ = (id) => document.getElementById(id);
const isEmbed = document.body.dataset.page === "embed";
const maxChars = Number(document.body.dataset.maxTextChars) || 500;

// An exported file (offline.js) carries the state it was exported with; its URL has none.
const startQuery = offline ? offline.query : location.search;
const linkQuery = new URLSearchParams(startQuery);   // as opened, before the URL is tidied
const state = State.fromQuery(startQuery);
const player = new Player(state);
const unrolled = new UnrolledView($("unrolled"), state, { ledger: $("ledger") });
const cell = new CellView($("cell-view"), state, { title: $("cell-title"), rowHeight: isEmbed ? 22 : 32,
  model: () => controller.model });
const views = [unrolled, cell];
if (isEmbed) bindEmbedViews(state);   // before the views: they draw only when shown
views.push(new PathView($("view-path"), state, { compact: isEmbed }), new UnitsView($("view-units"), state));
// The cell diagram: a tab of the explorer; the embed shows it in place of the network (?view=diagram).
const diagram = new DiagramView($("view-diagram"), state);
views.push(diagram);
if (isEmbed && state.view === "diagram") {
  $("view-diagram").hidden = false;
  document.querySelector("main.embed").classList.add("diagram-mode");
}
let tokens = null, equations = null, heatmaps = null, gradients = null, compare = null, generate = null, order = null;
if (!isEmbed) {
  tokens = new TokensView($("tokens"), $("onehot"), state);
  equations = new EquationsView($("equations"), state, { model: () => controller.model });
  heatmaps = new HeatmapsView($("view-heatmaps"), state);
  gradients = new GradientsView($("view-gradients"), state);
  compare = new CompareView($("view-compare"), state);
  generate = new GenerateView($("view-generate"), state, { sample: (body) => controller.sample(body),
    maxTokens: Number(document.body.dataset.maxSampleTokens) || 500,
    topK: Math.min(8, Number(document.body.dataset.maxTopK) || 8) });
  order = new OrderView($("view-order"), state);
  views.push(tokens, equations, heatmaps, gradients, compare, generate, order);
}
// The encoder–decoder and tree models' views (kinds.js): the controller shows one kind at a time
// (filled in by bindLater, before the first trace of such a model).
const kindViews = {};
const controller = new Controller(state, player, views, kindViews);
controller.addEventListener("kind", (e) => { document.body.dataset.kind = e.detail; });
let syncKindInputs = () => {};
// The Generate tab, open with a generation, takes the player's buttons and keys.
player.delegate = () => (generate && state.view === "generate" && generate.drivesPlayer ? generate : null);
const numberFields = {};   // the clip and truncate boxes (explorer only)
let truncateMode = null;   // the truncation mode menu (explorer only)
let renderLayers = null;   // the layer/direction menu (explorer only)
const renderPlayer = bindPlayer(state, player);
const renderTabs = isEmbed ? () => {} : bindTabs(state);
window.__unrolled = { state, player, controller, unrolled };    // for the browser tests and the benchmark

function showError(msg) {
  const box = $("error-box");
  box.hidden = !msg;
  box.textContent = msg || "";
}
controller.addEventListener("error", (e) => {
  // The server's refusal of a truncation mode is shown next to the mode menu, not twice.
  if (truncateMode && truncateMode.refusal(e.detail)) return;
  showError(e.detail);
  if (isEmbed) $("embed-title").textContent = state.model;  // not the previous model's sentence
});
controller.addEventListener("loaded", () => {
  showError(null);
  if (truncateMode) truncateMode.clear();
  requestAnimationFrame(markDrawn);   // the views draw the trace right after this event
  requestAnimationFrame(markReady);
  document.body.dataset.traces = String(Number(document.body.dataset.traces || 0) + 1);
  renderAll();
});

controller.addEventListener("completed", () => {
  renderAll();
  requestAnimationFrame(markReady);
});

function renderAll() {
  const tr = controller.trace;
  renderPlayer(tr);
  if (!tr) return;
  for (const v of controller.views) v.render();
  if (isEmbed) renderEmbedHead();
  syncKindInputs();
}

function renderEmbedHead() {
  const tr = controller.trace;
  const kind = KINDS[controller.kind];
  $("embed-title").textContent = kind ? kind.title(tr, state) : `${tr.cell.toUpperCase()} · “${state.text}”`;
  $("open-full").href = `/?${state.toQuery()}`;
}

// ---- reacting to state changes ---------------------------------------------------------------
const reloadSoon = debounce(() => controller.load(), DEBOUNCE_MS);

state.addEventListener("change", (e) => {
  const { changed, source } = e.detail;
  if (source === "init-silent") return;
  const has = (k) => changed.includes(k);
  if (has("theme")) {
    applyTheme(state);
    if (controller.trace && heatmaps) { heatmaps.update(controller.trace); gradients.update(controller.trace); }
  }
  if (has("view")) renderTabs();
  if (has("text") && source !== "input" && source !== "live" && !isEmbed) $("text-input").value = state.text;
  if (has("model") && !isEmbed) $("model-select").value = state.model;
  if (has("clip") && numberFields.clip) numberFields.clip.sync();
  if (has("truncate") && numberFields.truncate) numberFields.truncate.sync();
  if ((has("tmode") || has("truncate")) && truncateMode) truncateMode.sync();
  if ((has("model") || has("layer") || has("direction")) && renderLayers) renderLayers();
  // The mode only matters with a k: without one the trace would be the same.
  // A new input makes an attention what-if meaningless (a link's own what-if stays).
  if (["model", "text", "target"].some(has) && !has("whatif") && source !== "url" && state.whatif) {
    state.set({ whatif: "" }, "controller");
  }
  const needsTrace = ["model", "text", "clip", "truncate", "layer", "direction", "target"].some(has) ||
    (has("tmode") && state.truncate != null);
  if (needsTrace && source === "input") reloadSoon();
  else if (needsTrace && source !== "live") { reloadSoon.cancel(); controller.load(); }
  if (has("gscale") && gradients && controller.trace) gradients.update(controller.trace);
  if (has("phase")) controller.ensureBackward();
  if (has("view")) controller.ensureFlow();
  if (["t", "phase", "unit", "view", "speed", "whatif"].some(has)) renderAll();
  if (generate && ["temperature", "seed", "n"].some(has)) generate.render();
  if (order && ["bow", "order_a", "order_b", "view", "model"].some(has)) order.render();
});

// ---- explorer-only controls -------------------------------------------------------------------
function fillModelSelect(models) {
  const select = $("model-select");
  clear(select);
  for (const m of models) {
    const label = m.source === "snapshot"   // "<job>@<step>": say what it is
      ? `training snapshot, step ${m.id.split("@")[1]} · ${m.cell.toUpperCase()} · ${m.task}`
      : `${m.id} · ${m.cell.toUpperCase()} · ${m.task}` + (m.source ? ` (${m.source})` : "");
    const opt = el("option", { value: m.id }, label);
    opt.title = m.description || "";
    select.append(opt);
  }
  select.value = state.model;
}

function bindExplorer(models) {
  const select = $("model-select");
  fillModelSelect(models);
  // Another model may have fewer layers or one direction: start from its top layer, forward.
  select.addEventListener("change", () => {
    const next = controller.models.find((m) => m.id === select.value);
    // Another kind of model reads another kind of input: start from its example.
    const text = next && kindOf(next) !== kindOf(controller.model) ? next.example || state.text : state.text;
    state.set({ model: select.value, text, t: 0, phase: "forward", layer: -1, direction: 0, target: "",
      whatif: "" });
  });
  renderLayers = bindLayerSelect(state, () => controller.model);
  renderLayers();

  const input = $("text-input");
  input.value = state.text;
  input.addEventListener("input", () => {
    const text = input.value.slice(0, maxChars);
    if (controller.canFeed(text)) controller.feed(text);
    else state.set({ text }, "input");
  });

  numberFields.clip = bindNumberField(state, { name: "clip", input: $("clip-input"), error: $("clip-error"),
    parse: positiveNumber, rule: "Clip must be a number above 0 (empty = off).", what: "clipping" });
  numberFields.truncate = bindNumberField(state, { name: "truncate", input: $("truncate-input"),
    error: $("truncate-error"), parse: wholeNumberAtLeastOne,
    rule: "k must be a whole number ≥ 1 (empty = off).", what: "truncation" });
  truncateMode = bindTruncateMode(state, { select: $("truncate-mode"), error: $("truncate-mode-error") });
  // A link with an invalid value (clip=-1) says so too, instead of quietly turning it off.
  for (const name of ["clip", "truncate"]) {
    const raw = linkQuery.get(name);
    if (raw && state[name] == null) {
      $(`${name}-input`).value = raw;
      numberFields[name].apply(raw);
    }
  }
  syncKindInputs = bindKindInputs(state, controller, maxChars);
  bindTabs(state);
  renderTabs();
  bindTheme(state);
  bindCopy(state);
  compare.setModels(models);
}

/** What the lazily imported modules (`later`) bind: the kinds' views, the image buttons, and
 * on the explorer the download, Train, import and classroom controls. */
function bindLater({ images, seq2seq, tree, download, importer, train, classroom }) {
  kindViews.seq2seq = [new seq2seq.Seq2SeqPage($("kind-seq2seq"), state, { embed: isEmbed,
    whatif: (change) => fetchWhatIf(state, change) })];
  kindViews.tree = [new tree.TreePage($("kind-tree"), state, { embed: isEmbed })];
  // PNG/SVG/GIF of the diagrams; the command line draws its images with the same functions
  window.__unrolled.images = images.bindImages(state, controller, { status: $("copy-status") || $("ledger") });
  if (isEmbed) return;
  download.bindDownload(state, { button: $("download-view"), status: $("copy-status") });
  if (!offline) bindTrain(train.TrainPanel);   // an exported file says the panel needs the server (offline.js)
  $("import-form").append(importer.importForm());
  new importer.ImportPanel($("import-panel"), { onImported: async (model) => {
    const fresh = await fetchModels();
    controller.models = fresh;
    fillModelSelect(fresh);
    compare.setModels(fresh);
    state.set({ model: model.id, text: model.example || state.text, t: 0, phase: "forward",
      layer: -1, direction: 0 });
  } });
  window.__unrolled.classroom = classroom.bindClassroom(state, player);
}

/** The Train panel: its snapshots and the trained model join the model menu when shown. */
function bindTrain(TrainPanel) {
  const ds = $("train-panel").dataset;
  const refreshModels = async () => {
    const fresh = await fetchModels();
    controller.models = [...fresh, ...controller.models.filter((m) => m.source === "snapshot")];
    fillModelSelect(controller.models);
    compare.setModels(fresh);
  };
  new TrainPanel($("train-panel"), state, {
    limits: { hidden: Number(ds.maxHidden), layers: Number(ds.maxLayers), steps: Number(ds.maxSteps),
      text: Number(ds.maxText), seqLen: Number(ds.maxSeqLen) },
    refreshModels,
    useModel: (detail, { text = null, reset = false } = {}) => {
      // one snapshot at a time in the menu: the one shown
      controller.models = [...controller.models.filter((m) => m.source !== "snapshot" && m.id !== detail.id), detail];
      fillModelSelect(controller.models);
      state.set({ model: detail.id, ...(text ? { text } : {}),
        ...(reset ? { t: 0, phase: "forward", layer: -1, direction: 0 } : {}) });
    },
  });
}

async function start() {
  registerExplanations(document);
  bindKeyboard(player);
  if (!isEmbed) trackStickyHeights();
  if (isEmbed) applyTheme(state);
  let models = [];
  if (!offline) {
    controller.socket.connect().catch(() => {});   // the handshake while the models load
    // and the first trace, when the link names a sequence model (the server says which kind)
    if (linkQuery.has("text") && document.body.dataset.linkedKind === "sequence") controller.prefetch();
  }
  try {
    models = await fetchModels();
  } catch (err) {
    showError(`Could not load the models: ${err.message}`);
  }
  if (state.model.includes("@") && !isEmbed) {   // a link to a training snapshot
    try { models.push(await fetchModel(state.model)); } catch { /* gone: the first model instead */ }
  }
  controller.models = models;
  const model = models.find((m) => m.id === state.model) || models[0];
  if (!model) {
    showError("No model is available on this server.");
    laterBound = true;   // nothing to draw, nothing to bind
    markReady();
    return;
  }
  state.set({ model: model.id, text: state.text || model.example || "hello world" }, "init-silent");
  document.body.dataset.kind = kindOf(model);
  if (!offline) syncUrl(state, location.pathname);   // a file:// or srcdoc page keeps its URL
  if (!isEmbed) bindExplorer(models);
  if (!isEmbed) bindPresentation(state);
  const bound = later.then((mods) => {
    bindLater(mods);
    if (offline) markOffline(state);   // after every control it disables or removes is bound
    laterBound = true;
  });
  if (kindOf(model) !== "sequence") await bound;   // its views come with `later`
  await controller.load();
  await bound;
  requestAnimationFrame(() => { markDrawn(); markReady(); });
}

/** The first trace's forward half is on screen (the benchmark reads the time). */
function markDrawn() {
  if (!laterBound || document.body.dataset.drawnMs) return;
  document.body.dataset.drawnMs = performance.now().toFixed(1);
}

/** The page is interactive, its first trace drawn, gradients included (called in the frame
 * after the views drew it): tests wait for this flag; the benchmark reads the time. */
function markReady() {
  if (!laterBound || document.body.dataset.ready === "1") return;
  if (controller.trace && controller.trace.backwardPending) return;   // ("completed" calls again)
  markDrawn();
  document.body.dataset.readyMs = performance.now().toFixed(1);
  document.body.dataset.ready = "1";
}

start();
