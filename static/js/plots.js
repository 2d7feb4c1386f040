// Shared plotly plumbing: load plotly.js lazily from the server (never a CDN), theme the layout,
// escape token text (plotly reads a few HTML-like tags in strings, so tokens go in as entities).

import { el } from "./dom.js";
import { offline, offlinePlotly } from "./offline.js";

let loading = null;

/**
 * Resolves once the page has drawn its first trace (main.js sets body[data-ready]). plotly.js
 * is 1.5 MB on the wire and about half a second of main thread to evaluate: it must never
 * stand between a cold page and its first unrolled network.
 */
export function pageReady() {
  const body = document.body;
  if (body.dataset.ready === "1") return Promise.resolve();
  return new Promise((resolve) => {
    const watch = new MutationObserver(() => {
      if (body.dataset.ready !== "1") return;
      watch.disconnect();
      resolve();
    });
    watch.observe(body, { attributes: true, attributeFilter: ["data-ready"] });
  });
}

/** plotly.js (window.Plotly), fetched the first time a chart is drawn, after the first trace. */
export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (loading) return loading;
  loading = pageReady().then(() => (offline ? offlinePlotly() : fetchPlotly()));
  loading.catch(() => { loading = null; });
  return loading;
}

function fetchPlotly() {
  return new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = document.body.dataset.plotlyUrl;
    s.onload = () => resolve(window.Plotly);
    s.onerror = () => reject(new Error("plotly.js failed to load"));
    document.head.append(s);
  });
}

/** Text for plotly labels: entities instead of markup characters, so "<b>" shows as typed. */
export function plotlyText(s) {
  return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/ /g, "␣");
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

export function baseLayout(title, extra = {}) {
  const fg = cssVar("--fg") || "#111";
  return {
    title: { text: title, font: { size: 17 }, x: 0, xanchor: "left" },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { color: fg, size: 14, family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" },
    margin: { l: 56, r: 16, t: 36, b: 44 },
    height: 240,
    ...extra,
  };
}

// The camera button downloads a PNG (drawn in the browser, so it works offline); a second one an SVG.
const SVG_ICON = { width: 1000, height: 1000,
  path: "M450 80h100v480l150-150 70 70-270 270-270-270 70-70 150 150zM130 860h740v100H130z" };
export const PLOT_CONFIG = { displaylogo: false, responsive: true,
  modeBarButtonsToRemove: ["select2d", "lasso2d"],
  toImageButtonOptions: { format: "png", scale: 2, filename: "unrolled-chart" },
  modeBarButtonsToAdd: [{ name: "Download as SVG", icon: SVG_ICON,
    click: (gd) => window.Plotly.downloadImage(gd, { format: "svg", filename: "unrolled-chart" }) }] };

const TICK_FONT = 13, CHAR_PX = 8.5;   // a 13 px label: about 8.5 px per character

/**
 * A step axis labelled with every token, when they fit readably in `width` px (side by side, or
 * turned upright for longer tokens); otherwise with no token at all (the axis counts steps and
 * the hover text names each step's token). Never every other token: a skipped token would look
 * like a missing step.
 */
export function stepAxis(tokens, width = 480, name = "step t", ticktext = tokens.map(plotlyText)) {
  const T = tokens.length, per = width / Math.max(1, T);
  const longest = Math.max(1, ...tokens.map((tok) => [...String(tok)].length));
  const flat = longest * CHAR_PX + 4 <= per;
  const upright = !flat && per >= TICK_FONT + 3 && longest <= 12;
  if (!flat && !upright) {
    return { tickmode: "auto", title: { text: `${name}: ${T} steps, too many to label each token (hover for it)` } };
  }
  return { tickmode: "array", tickvals: [...Array(T).keys()], ticktext,
    tickangle: flat ? 0 : -90, tickfont: { size: TICK_FONT }, automargin: true, title: { text: `${name} (token)` } };
}

/** Pixels along a plot's x axis, from its box and its layout's margins (and a colour bar). */
export function axisWidth(div, layout, colorbar = false) {
  const m = layout.margin || {};
  return Math.max(100, (div.clientWidth || 500) - (m.l ?? 56) - (m.r ?? 16) - (colorbar ? 90 : 0));
}

/** Each step's token for hover text: per point (1-D), or per heatmap cell (`rows` × T). */
export function tokenData(tokens, rows = 0) {
  const toks = tokens.map(plotlyText);
  return rows ? Array.from({ length: rows }, () => toks) : toks;
}

/**
 * Draw each plot when it scrolls into view: a plotly heatmap takes a few hundred ms of main
 * thread, so drawing eight of them after every trace would make the page stutter while typing
 * (and plotly.js itself is only fetched when the first of them comes near the screen).
 * Returns a function that cancels the pending draws (a newer trace replaces them).
 */
export function drawWhenVisible(specs, draw) {
  const pending = new Map(specs.map((s) => [s.div, s]));
  const io = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting || !pending.has(e.target)) continue;
      const spec = pending.get(e.target);
      pending.delete(e.target);
      io.unobserve(e.target);
      draw(spec);
    }
  }, { rootMargin: "100% 0px" });  // also the next screenful, so scrolling finds them drawn
  for (const s of specs) io.observe(s.div);
  return () => io.disconnect();
}

/**
 * Cursors marking the current step on a set of plots. They are plain HTML boxes placed over the
 * plot area from plotly's axis geometry: moving one costs a style change, whereas a plotly
 * relayout redraws the whole heatmap (hundreds of ms for a few plots).
 */
/**
 * Lay out one empty box per plot spec in `grid` (sized, so nothing jumps), then draw each
 * with plotly when it scrolls near the screen (loading plotly.js then, the first time). `view` keeps the boxes (`divs`), its
 * PlotCursors (`cursors`), the trace being drawn (`drawn`: a draw for an older trace is
 * dropped) and the function that cancels pending draws (`cancelDraws`). A spec's `steps` names
 * its step axis, labelled with the tokens (or the spec's own `ticks`, plotly text per step).
 */
export function mountPlots(view, grid, specs, trace, boxClass = () => "plot") {
  for (const spec of specs) {
    spec.div = el("div", { class: boxClass(spec), "data-plot": spec.name });
    spec.div.style.height = `${spec.layout.height}px`;
    grid.append(spec.div);
  }
  view.divs = specs.map((s) => s.div);
  view.cursors.reset();
  view.cursors.t = view.state.t;
  if (view.cancelDraws) view.cancelDraws();
  view.cancelDraws = drawWhenVisible(specs, async (spec) => {
    if (view.drawn !== trace) return;
    await loadPlotly();
    if (view.drawn !== trace) return;    // a newer trace arrived while plotly loaded
    if (spec.steps) {   // token labels depend on the width the plot really has
      const heat = spec.data.some((d) => d.type === "heatmap" && d.showscale !== false);
      spec.layout.xaxis = { ...spec.layout.xaxis,
        ...stepAxis(trace.tokens, axisWidth(spec.div, spec.layout, heat), spec.steps, spec.ticks) };
    }
    await window.Plotly.newPlot(spec.div, spec.data, spec.layout, PLOT_CONFIG);
    view.cursors.attach(spec.div);
  });
}

export class PlotCursors {
  constructor() {
    this.items = [];
    this.t = 0;
  }

  reset() {
    this.items = [];
  }

  attach(div, { rows = false } = {}) {
    const box = document.createElement("div");
    box.className = "plot-cursor";
    div.append(box);
    const item = { div, box, rows };
    this.items.push(item);
    div.on?.("plotly_afterplot", () => this.place(item));
    this.place(item);
  }

  move(t) {
    this.t = t;
    for (const item of this.items) this.place(item);
  }

  place({ div, box }) {
    const fl = div._fullLayout;
    if (!fl || !fl.xaxis || !fl.yaxis) { box.hidden = true; return; }
    const xa = fl.xaxis, ya = fl.yaxis;
    const x0 = xa.l2p(this.t - 0.5), x1 = xa.l2p(this.t + 0.5);
    box.hidden = false;
    box.style.left = `${xa._offset + Math.min(x0, x1)}px`;
    box.style.width = `${Math.abs(x1 - x0)}px`;
    box.style.top = `${ya._offset}px`;
    box.style.height = `${ya._length}px`;
  }
}
