// The compact rows of a stack (every layer and direction but the shown one), their wires and the
// join nodes, painted on one <canvas> under the SVG instead of ~9,000 SVG nodes: with that many
// nodes every step repainted and re-layerised the whole drawing (~100 ms a step). The drawing
// code (unrolled_stack.js) emits the same shapes it would as SVG (tag, attributes, title): this
// module keeps them per cell and paints them; a step repaints only the columns whose cells
// changed state (future / done / grad-on), each clipped to its column. Hover and click find the
// cell under the pointer (cellAt): its shapes' titles are the tooltip, a click shows its row.
import { SHARED_W_COLOR, GRAD_COLOR } from "../config.js";

const MINI_FILL = "#c9520a";
const HEADS = { "url(#ah-ws)": [8, SHARED_W_COLOR], "url(#ah-g)": [14, GRAD_COLOR], "url(#ah-n)": [11, null] };
const MAX_PIXELS = 24e6;
const themeCache = { key: null, colors: null };     // backing-store budget: a long sentence at DPR 2 draws at DPR 1

/** Absolute M/L/H/V path data (all the stack draws) → points. */
function points(tag, a) {
  if (tag === "line") return [[+a.x1, +a.y1], [+a.x2, +a.y2]];
  const pts = [];
  let x = 0, y = 0;
  for (const [, op, args] of String(a.d).matchAll(/([MLHV])([^MLHV]*)/g)) {
    const n = args.split(/[\s,]+/).filter(Boolean).map(Number);
    if (op === "H") x = n[0]; else if (op === "V") y = n[0]; else [x, y] = n;
    pts.push([x, y]);
  }
  return pts;
}

/** One cell's shapes: {pts|box|text, css class, colours, when it shows}. */
function shapeOf(tag, a, title) {
  const cls = String(a.class || "");
  const has = (c) => cls.split(" ").includes(c);
  const s = { cls, title, head: HEADS[a["marker-end"]] || null,
    // "done": hidden while the cell is in the future; "grad": only once its gradient is in
    show: has("gin") || has("mgrad") ? "grad" : has("mrec") || has("up") || has("mini-fill") ? "done" : "always" };
  if (tag === "rect") Object.assign(s, { box: [+a.x, +a.y, +a.width, +a.height, +(a.rx || 0)], opacity: +(a["fill-opacity"] ?? 1) });
  else if (tag === "text") Object.assign(s, { text: a.text, x: +a.x, y: +a.y, anchor: a["text-anchor"] || "start" });
  else Object.assign(s, { pts: points(tag, a), stroke: a.stroke || null, width: +(a["stroke-width"] || 0) });
  return s;
}

export class StackCanvas {
  /** {width, height (CSS px), left, w (step width), T}. */
  constructor({ width, height, left, w, T }) {
    Object.assign(this, { width, height, left, w, T });
    this.cells = [];     // {l, d, s, shapes, state, hit: [x0, y0, x1, y1] | null, row}
    this.canvas = document.createElement("canvas");
    this.canvas.className = "unrolled-stack";
    this.canvas.setAttribute("aria-hidden", "true");   // the SVG's label describes the network
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.canvas.exportURL = (scale) => this.exportURL(scale);   // images.js: the SVG export
  }

  /** A sink for one cell (unrolled_stack.js calls put(tag, attrs, title) as it would svg()). */
  cell(l, d, s, hit = null) {
    const c = { l, d, s, shapes: [], state: "", hit };
    this.cells.push(c);
    return (tag, attrs, title = null) => { c.shapes.push(shapeOf(tag, attrs, title)); };
  }

  /** The cell whose hit box holds (x, y) in drawing coordinates, or null. */
  cellAt(x, y) {
    const s = Math.floor((x - this.left) / this.w);
    return this.cells.find((c) => c.hit && c.s === s && y >= c.hit[1] && y <= c.hit[3] &&
      x >= c.hit[0] && x <= c.hit[2]) || null;
  }

  /** The tooltip of a cell as it is drawn now (the titles of its shapes on show). */
  titleOf(c) {
    const on = c.shapes.filter((sh) => sh.title && this.visible(sh, c.state));
    const own = (sh) => (sh.cls.endsWith("-title") ? 0 : 1);   // the cell's own line first, then its arrows'
    return on.sort((a, b) => own(a) - own(b)).map((sh) => sh.title).join("\n");
  }

  /** The shapes of one class, with their cell (tests and the export read what is painted). */
  shapes(cls) {
    const out = [];
    for (const c of this.cells) for (const sh of c.shapes) if (sh.cls.split(" ").includes(cls)) out.push({ ...sh, l: c.l, d: c.d, s: c.s, state: c.state });
    return out;
  }

  visible(sh, state) {
    return sh.show === "always" || (sh.show === "done" ? state !== "future" : state === "grad-on");
  }

  /** Colours from the page's theme (CSS variables), read once per theme (reading them costs a
   * style update of the whole new drawing). */
  theme() {
    const key = `${document.documentElement.dataset.effectiveTheme}`;
    if (themeCache.key !== key) Object.assign(themeCache, { key, colors: this.readTheme() });
    return themeCache.colors;
  }

  readTheme() {
    const cs = getComputedStyle(this.canvas);
    const v = (name, dflt) => cs.getPropertyValue(name).trim() || dflt;
    return { fg: v("--fg", "#111418"), line: v("--line", "#c9ced6"), muted: v("--muted", "#4a525c"),
      cell: v("--cell", "#ffffff"), chip: v("--chip", "#e8ecf2"), font: cs.fontFamily || "sans-serif",
      mono: v("--mono", "monospace") };
  }

  /** Size the backing store for this screen and paint everything. */
  paintAll() {
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    const scale = Math.max(1, Math.min(dpr, Math.sqrt(MAX_PIXELS / (this.width * this.height))));
    this.scale = scale;
    this.canvas.width = Math.round(this.width * scale);
    this.canvas.height = Math.round(this.height * scale);
    this.colors = this.theme();
    this.paint(this.canvas.getContext("2d"), scale, this.cells, null);
  }

  /** The cells whose state changed: repaint their columns (and the neighbours they reach into). */
  repaint(changed) {
    if (!changed.length) return;
    const cols = new Set();
    for (const c of changed) for (let k = c.s - 1; k <= c.s + 1; k++) if (k >= 0 && k < this.T) cols.add(k);
    const ctx = this.canvas.getContext("2d");
    for (const k of cols) {
      const near = this.cells.filter((c) => c.s >= k - 1 && c.s <= k + 1);
      // (the first and last columns own the margins: h₋₁'s "0" and the reverse rows' h_T)
      const x0 = k === 0 ? 0 : this.left + k * this.w, x1 = k === this.T - 1 ? this.width : this.left + (k + 1) * this.w;
      this.paint(ctx, this.scale, near, [x0, x1]);
    }
  }

  /** Paint `cells` (clipped to the columns [x0, x1] and cleared there first, if given). */
  paint(ctx, scale, cells, clip) {
    const C = this.colors;
    ctx.save();
    ctx.lastFont = null;
    ctx.setTransform(scale, 0, 0, scale, 0, 0);
    if (clip) {
      ctx.beginPath();
      ctx.rect(clip[0], 0, clip[1] - clip[0], this.height);
      ctx.clip();
      ctx.clearRect(clip[0], 0, clip[1] - clip[0], this.height);
    } else ctx.clearRect(0, 0, this.width, this.height);
    for (const c of cells) {
      for (const sh of c.shapes) {
        if (!this.visible(sh, c.state)) continue;
        ctx.globalAlpha = c.state === "grad-on" && sh.cls.startsWith("mrec") ? 0.35 : 1;
        if (sh.box) this.rect(ctx, sh, c.state, C);
        else if (sh.text != null) this.text(ctx, sh, C);
        else this.stroke(ctx, sh, C);
      }
    }
    ctx.restore();
  }

  rect(ctx, sh, state, C) {
    const [x, y, w, h, r] = sh.box;
    ctx.beginPath();
    ctx.roundRect(x, y, w, h, r);
    if (sh.cls === "mini-fill") {
      ctx.globalAlpha = sh.opacity;
      ctx.fillStyle = MINI_FILL;
      ctx.fill();
      ctx.globalAlpha = 1;
      return;
    }
    const join = sh.cls === "join-box";
    ctx.fillStyle = join ? C.chip : C.cell;
    ctx.fill();
    ctx.lineWidth = 1.3;
    ctx.strokeStyle = state === "future" && !join ? C.line : C.fg;
    ctx.setLineDash(state === "future" && !join ? [4, 3] : []);
    ctx.stroke();
    ctx.setLineDash([]);
  }

  text(ctx, sh, C) {
    const join = sh.cls === "join-text";
    const font = join ? `600 12px ${C.mono}` : `12px ${C.font}`;
    if (ctx.lastFont !== font) ctx.font = ctx.lastFont = font;   // (setting a font parses it: slow)
    ctx.fillStyle = join ? C.fg : C.muted;
    ctx.textAlign = sh.anchor === "middle" ? "center" : sh.anchor === "end" ? "right" : "left";
    ctx.textBaseline = "alphabetic";
    ctx.fillText(sh.text, sh.x, sh.y);
  }

  stroke(ctx, sh, C) {
    const io = sh.cls.split(" ").includes("io");
    const color = io ? C.muted : sh.stroke;
    const width = io ? 1.6 : sh.cls.startsWith("mrec") ? 2 : sh.width;
    const pts = sh.pts;
    if (pts.length < 2 || !(width > 0)) return;
    ctx.beginPath();
    ctx.moveTo(...pts[0]);
    for (const p of pts.slice(1)) ctx.lineTo(...p);
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.stroke();
    if (!sh.head) return;
    // the SVG marker: a triangle 10 × 10 (viewBox units) whose point (8, 5) sits on the end
    const [size, headColor] = sh.head, k = size / 10;
    const [x0, y0] = pts[pts.length - 2], [x1, y1] = pts[pts.length - 1];
    const len = Math.hypot(x1 - x0, y1 - y0) || 1;
    const ux = ((x1 - x0) / len) * k, uy = ((y1 - y0) / len) * k;   // along the wire, and across (−uy, ux)
    const at = (a, b) => [x1 + a * ux - b * uy, y1 + a * uy + b * ux];
    ctx.beginPath();
    ctx.moveTo(...at(-8, -5));
    ctx.lineTo(...at(2, 0));
    ctx.lineTo(...at(-8, 5));
    ctx.closePath();
    ctx.fillStyle = headColor || color;
    ctx.fill();
  }

  /** The whole stack at `scale` pixels per CSS pixel, as a PNG data: URL (the SVG export). */
  exportURL(scale = 2) {
    const c = document.createElement("canvas");
    c.width = Math.round(this.width * scale);
    c.height = Math.round(this.height * scale);
    this.paint(c.getContext("2d"), scale, this.cells, null);
    return c.toDataURL("image/png");
  }
}
