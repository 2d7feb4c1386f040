// Shared plotly plumbing: load plotly.js lazily from the server (never a CDN), theme the layout,
// escape token text (plotly reads a few HTML-like tags in strings, so tokens go in as entities).

let loading = null;

export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (loading) return loading;
  loading = new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = document.body.dataset.plotlyUrl;
    s.onload = () => resolve(window.Plotly);
    s.onerror = () => { loading = null; reject(new Error("plotly.js failed to load")); };
    document.head.append(s);
  });
  return loading;
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

export const PLOT_CONFIG = { displaylogo: false, responsive: true,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"] };

/** Token labels for a step axis (thinned out for long sentences). */
export function stepAxis(tokens) {
  const every = Math.max(1, Math.ceil(tokens.length / 40));
  const tickvals = [], ticktext = [];
  tokens.forEach((tok, t) => {
    if (t % every === 0) { tickvals.push(t); ticktext.push(plotlyText(tok)); }
  });
  return { tickvals, ticktext, tickangle: 0, title: { text: "step t (token)" } };
}

/** A shape marking the current step (moved by relayout while the player runs). */
export function cursorShape(t, color = "#7b3fb0") {
  return { type: "rect", xref: "x", yref: "paper", x0: t - 0.5, x1: t + 0.5, y0: 0, y1: 1,
    line: { color, width: 2.5 }, fillcolor: "rgba(0,0,0,0)" };
}

/** Moves the cursor shape on a set of plots, at most every `ms` milliseconds. */
export class CursorMover {
  constructor(ms) {
    this.ms = ms;
    this.last = 0;
    this.timer = 0;
    this.t = null;
  }

  move(divs, t) {
    this.t = t;
    const run = () => {
      this.last = performance.now();
      this.timer = 0;
      for (const d of divs) {
        if (d.layout && d.layout.shapes && d.layout.shapes.length) {
          window.Plotly.relayout(d, { "shapes[0].x0": this.t - 0.5, "shapes[0].x1": this.t + 0.5 });
        }
      }
    };
    if (!window.Plotly) return;
    const wait = this.ms - (performance.now() - this.last);
    if (wait <= 0) run();
    else if (!this.timer) this.timer = setTimeout(run, wait);
  }
}
