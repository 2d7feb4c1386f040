// Entry point for both pages: / (the explorer) and /embed (the compact view for iframes).
// Builds the State, the Player, the Controller and the views, then wires them together.
import { State, syncUrl } from "./state.js";
import { Player } from "./player.js";
import { Controller } from "./controller.js";
import { fetchModels } from "./api.js";
import { el, clear, debounce } from "./dom.js";
import { DEBOUNCE_MS } from "./config.js";
import { registerExplanations } from "./explain.js";
import { bindPlayer, bindKeyboard, bindTheme, applyTheme, bindTabs, bindCopy } from "./controls.js";
import { UnrolledView } from "./views/unrolled.js";
import { CellView } from "./views/cell.js";
import { TokensView } from "./views/tokens.js";
import { EquationsView } from "./views/equations.js";
import { HeatmapsView } from "./views/heatmaps.js";
import { GradientsView } from "./views/gradients.js";
import { CompareView } from "./views/compare.js";

const $ = (id) => document.getElementById(id);
const isEmbed = document.body.dataset.page === "embed";
const maxChars = Number(document.body.dataset.maxTextChars) || 500;

const state = State.fromQuery(location.search);
const player = new Player(state);
const unrolled = new UnrolledView($("unrolled"), state, { ledger: $("ledger") });
const cell = new CellView($("cell-view"), state, { title: $("cell-title"), rowHeight: isEmbed ? 22 : 32 });
const views = [unrolled, cell];
let tokens = null, equations = null, heatmaps = null, gradients = null, compare = null;
if (!isEmbed) {
  tokens = new TokensView($("tokens"), $("onehot"), state);
  equations = new EquationsView($("equations"), state);
  heatmaps = new HeatmapsView($("view-heatmaps"), state);
  gradients = new GradientsView($("view-gradients"), state);
  compare = new CompareView($("view-compare"), state);
  views.push(tokens, equations, heatmaps, gradients, compare);
}
const controller = new Controller(state, player, views);
const renderPlayer = bindPlayer(state, player);
const renderTabs = isEmbed ? () => {} : bindTabs(state);
window.__unrolled = { state, player, controller };    // for the browser tests and the benchmark

function showError(msg) {
  const box = $("error-box");
  box.hidden = !msg;
  box.textContent = msg || "";
}
controller.addEventListener("error", (e) => showError(e.detail));
controller.addEventListener("loaded", () => {
  showError(null);
  markReady();
  document.body.dataset.traces = String(Number(document.body.dataset.traces || 0) + 1);
  renderAll();
});

function renderAll() {
  const tr = controller.trace;
  renderPlayer(tr);
  if (!tr) return;
  for (const v of views) v.render();
  if (isEmbed) renderEmbedHead();
}

function renderEmbedHead() {
  const tr = controller.trace;
  $("embed-title").textContent = `${tr.cell.toUpperCase()} · “${state.text}”`;
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
  if (has("clip") && !isEmbed) $("clip-input").value = state.clip ?? "";
  if (has("truncate") && !isEmbed) $("truncate-input").value = state.truncate ?? "";
  const needsTrace = ["model", "text", "clip", "truncate"].some(has);
  if (needsTrace && source === "input") reloadSoon();
  else if (needsTrace && source !== "live") { reloadSoon.cancel(); controller.load(); }
  if (has("phase")) controller.ensureBackward();
  if (has("view")) controller.ensureFlow();
  if (["t", "phase", "unit", "view", "speed"].some(has)) renderAll();
});

// ---- explorer-only controls -------------------------------------------------------------------
function bindExplorer(models) {
  const select = $("model-select");
  clear(select);
  for (const m of models) {
    const opt = el("option", { value: m.id }, `${m.id} · ${m.cell.toUpperCase()} · ${m.task}` +
      (m.source ? ` (${m.source})` : ""));
    opt.title = m.description || "";
    select.append(opt);
  }
  select.value = state.model;
  select.addEventListener("change", () => state.set({ model: select.value, t: 0, phase: "forward" }));

  const input = $("text-input");
  input.value = state.text;
  input.addEventListener("input", () => {
    const text = input.value.slice(0, maxChars);
    if (controller.canFeed(text)) controller.feed(text);
    else state.set({ text }, "input");
  });

  const numberOrNull = (v, int) => {
    const n = int ? parseInt(v, 10) : parseFloat(v);
    return Number.isFinite(n) && n > 0 ? n : null;
  };
  $("clip-input").value = state.clip ?? "";
  $("truncate-input").value = state.truncate ?? "";
  $("clip-input").addEventListener("change", (e) => state.set({ clip: numberOrNull(e.target.value, false) }));
  $("truncate-input").addEventListener("change", (e) => state.set({ truncate: numberOrNull(e.target.value, true) }));
  bindTabs(state);
  renderTabs();
  bindTheme(state);
  bindCopy(state);
  compare.setModels(models);
}

async function start() {
  registerExplanations(document);
  bindKeyboard(player);
  if (isEmbed) applyTheme(state);
  let models = [];
  try {
    models = await fetchModels();
  } catch (err) {
    showError(`Could not load the models: ${err.message}`);
  }
  controller.models = models;
  const model = models.find((m) => m.id === state.model) || models[0];
  if (!model) {
    showError("No model is available on this server.");
    markReady();
    return;
  }
  state.set({ model: model.id, text: state.text || model.example || "hello world" }, "init-silent");
  syncUrl(state, location.pathname);
  if (!isEmbed) bindExplorer(models);
  await controller.load();
  markReady();
}

/** The page is interactive: tests wait for this flag; the benchmark reads the time. */
function markReady() {
  if (document.body.dataset.ready === "1") return;
  document.body.dataset.readyMs = performance.now().toFixed(1);
  document.body.dataset.ready = "1";
}

start();
