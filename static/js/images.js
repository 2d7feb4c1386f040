// Images of what the page shows: an SVG diagram (the unrolled network, the cell) serialised with
// its computed styles, as SVG or rasterised to PNG; a plotly chart through plotly's toImage; a
// range of steps as numbered PNG frames (a .zip) or an animated GIF (gif.js). Everything is drawn
// in the browser, so it works in an exported file with no network. `window.__unrolled.images`
// gives the same functions to the command line (server/export/render.py).
import { el } from "./dom.js";
import { encodeGif } from "./gif.js";
import { zipFiles } from "./zip.js";

const SVG_NS = "http://www.w3.org/2000/svg";
// The presentation properties a stylesheet may set on SVG, with their initial values (skipped).
const PROPS = {
  fill: null, "fill-opacity": "1", stroke: "none", "stroke-width": "1px", "stroke-opacity": "1",
  "stroke-dasharray": "none", "stroke-linecap": "butt", "stroke-linejoin": "miter", opacity: "1",
  "font-family": null, "font-size": null, "font-weight": "400", "font-style": "normal",
  "text-anchor": "start", "dominant-baseline": "auto", visibility: "visible", display: "inline",
  "paint-order": "normal", "letter-spacing": "normal", "marker-end": "none", "marker-start": "none",
};
const DIAGRAMS = { unrolled: "#unrolled svg.unrolled", cell: "#cell-view svg" };

function background() {
  const bg = getComputedStyle(document.body).backgroundColor;
  return bg && bg !== "rgba(0, 0, 0, 0)" ? bg : "#ffffff";
}

// Inherited properties: a child whose value is its parent's needs nothing written.
const NOT_INHERITED = new Set(["opacity", "display"]);

/**
 * An <svg> element as standalone SVG text: each element's computed style, written once per
 * distinct style as a class of one <style> block (a thousand heat cells share a few dozen), and
 * only where it differs from what the element would inherit: a small text that an <img>
 * rasterises quickly (the frames of a GIF).
 */
export function svgText(root) {
  const clone = root.cloneNode(true);
  const src = [root, ...root.querySelectorAll("*")], dst = [clone, ...clone.querySelectorAll("*")];
  const computed = new Map();     // source element -> {prop: value}
  const classes = new Map();      // style text -> class name
  src.forEach((node, i) => {
    const cs = getComputedStyle(node);
    const values = {};
    const parent = node === root ? null : computed.get(node.parentElement);
    const style = [];
    for (const [prop, initial] of Object.entries(PROPS)) {
      const v = cs.getPropertyValue(prop);
      values[prop] = v;
      const inherited = parent && !NOT_INHERITED.has(prop) ? parent[prop] : initial;
      if (v && v !== inherited) style.push(`${prop}:${v}`);
    }
    computed.set(node, values);
    dst[i].removeAttribute("style");
    dst[i].removeAttribute("class");
    if (!style.length) return;
    const text = style.join(";");
    if (!classes.has(text)) classes.set(text, `s${classes.size}`);
    dst[i].setAttribute("class", classes.get(text));
  });
  // A canvas painted under the SVG (the unrolled stack's other rows) goes in as an image.
  for (const img of clone.querySelectorAll("image[data-raster]")) {
    const canvas = document.getElementById(img.dataset.raster);
    if (!canvas) { img.remove(); continue; }
    img.removeAttribute("style");
    img.removeAttribute("visibility");
    img.setAttribute("href", canvas.exportURL ? canvas.exportURL(2) : canvas.toDataURL("image/png"));
  }
  const box = root.getBoundingClientRect();
  const w = Number(root.getAttribute("width")) || Math.ceil(box.width);
  const h = Number(root.getAttribute("height")) || Math.ceil(box.height);
  clone.setAttribute("xmlns", SVG_NS);
  clone.setAttribute("width", w);
  clone.setAttribute("height", h);
  if (!clone.getAttribute("viewBox")) clone.setAttribute("viewBox", `0 0 ${w} ${h}`);
  const sheet = document.createElementNS(SVG_NS, "style");
  sheet.textContent = [...classes].map(([text, name]) => `.${name}{${text}}`).join("\n");
  const bg = document.createElementNS(SVG_NS, "rect");
  for (const [k, v] of Object.entries({ x: 0, y: 0, width: "100%", height: "100%", fill: background() })) bg.setAttribute(k, v);
  clone.insertBefore(bg, clone.firstChild);
  clone.insertBefore(sheet, clone.firstChild);
  return new XMLSerializer().serializeToString(clone);
}

/** SVG text -> a PNG data: URL, `scale` pixels per CSS pixel. */
export async function svgToPng(text, scale = 2) {
  const url = URL.createObjectURL(new Blob([text], { type: "image/svg+xml" }));
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(img.naturalWidth * scale);
    canvas.height = Math.round(img.naturalHeight * scale);
    canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL("image/png");
  } finally {
    URL.revokeObjectURL(url);
  }
}

function diagram(target) {
  const node = document.querySelector(DIAGRAMS[target] || `#${CSS.escape(target)} svg`);
  if (!node) throw new Error(`nothing to draw: no diagram "${target}" on this page`);
  return node;
}

/** A plotly chart by its name (data-plot), drawn first if it has not scrolled into view yet. */
async function chart(name) {
  const div = document.querySelector(`[data-plot="${CSS.escape(name)}"]`);
  if (!div) return null;
  if (!div._fullLayout) {
    div.scrollIntoView({ block: "center" });
    const until = performance.now() + 15000;
    while (!div._fullLayout && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
  }
  return div._fullLayout ? div : null;
}

/** Every name `target` may take: the diagrams and the charts drawn or waiting on the page. */
export function targets() {
  return [...Object.keys(DIAGRAMS), ...[...document.querySelectorAll("[data-plot]")].map((d) => d.dataset.plot)];
}

/** `target` as SVG text. */
export async function svgOf(target) {
  const div = DIAGRAMS[target] ? null : await chart(target);
  if (!div) return svgText(diagram(target));
  const url = await window.Plotly.toImage(div, { format: "svg" });
  return decodeURIComponent(url.slice(url.indexOf(",") + 1));
}

/** `target` as a PNG data: URL. */
export async function pngOf(target, scale = 2) {
  const div = DIAGRAMS[target] ? null : await chart(target);
  if (!div) return svgToPng(svgText(diagram(target)), scale);
  return window.Plotly.toImage(div, { format: "png", scale });
}

const nextPaint = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));

const IN_FLIGHT = 2;   // frames being rasterised at once while the next ones are serialised

/**
 * The steps from `first` to `last` (as the player plays them in this phase) as PNG data: URLs.
 * Transitions are off meanwhile (each frame shows its step's final look, not a fade half-way);
 * a diagram is serialised as soon as its step is set (the views draw synchronously) and
 * rasterised while the next steps are serialised; a chart waits for plotly to draw each step.
 */
export async function framesOf(state, target, first, last, scale = 1) {
  const ts = [];
  for (let t = first; t <= last; t++) ts.push(t);
  if (state.phase === "backward") ts.reverse();
  const out = [];
  const root = document.documentElement;
  root.classList.add("no-transitions");
  try {
    for (const t of ts) {
      state.set({ t });
      if (DIAGRAMS[target]) {
        if (out.length >= IN_FLIGHT) await out[out.length - IN_FLIGHT];
        out.push(svgToPng(svgText(diagram(target)), scale));
      } else {
        await nextPaint();
        out.push(await pngOf(target, scale));
      }
    }
    return await Promise.all(out);
  } finally {
    root.classList.remove("no-transitions");
  }
}

async function pixels(dataUrl) {
  const img = new Image();
  img.src = dataUrl;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  return ctx.getImageData(0, 0, canvas.width, canvas.height);
}

function save(name, blob) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

const bytesOf = (dataUrl) => Uint8Array.from(atob(dataUrl.slice(dataUrl.indexOf(",") + 1)), (c) => c.charCodeAt(0));

/** The buttons under a diagram: PNG, SVG, and (the unrolled network) frames and GIF of a range. */
export function bindImages(state, controller, { status = null } = {}) {
  const say = (msg) => { if (status) status.textContent = msg; };
  const base = () => `unrolled-${state.model}-t${state.t}-${state.phase}`;
  for (const box of document.querySelectorAll("[data-image-tools]")) {
    const target = box.dataset.imageTools;
    const button = (label, title, run) => {
      const b = el("button", { type: "button", class: "image-btn", title, "data-image": label.toLowerCase() }, label);
      b.addEventListener("click", async () => {
        b.disabled = true;
        try { await run(); } catch (e) { say(`Could not make the image: ${e.message}`); } finally { b.disabled = false; }
      });
      box.append(b);
    };
    button("PNG", "Download this diagram as a PNG image", async () =>
      save(`${base()}-${target}.png`, new Blob([bytesOf(await pngOf(target))], { type: "image/png" })));
    button("SVG", "Download this diagram as an SVG image (editable, sharp at any size)", async () =>
      save(`${base()}-${target}.svg`, new Blob([await svgOf(target)], { type: "image/svg+xml" })));
    if (target !== "unrolled") continue;
    const range = () => {
      const T = controller.trace ? controller.trace.steps.length : 0;
      return [0, Math.max(0, T - 1)];
    };
    button("GIF", "Download every step of this phase as an animated GIF (for slides)", async () => {
      const [a, b] = range();
      say(`Drawing ${b - a + 1} frames…`);
      const t0 = state.t;
      const frames = await framesOf(state, target, a, b);
      state.set({ t: t0 });
      const images = await Promise.all(frames.map(pixels));
      save(`unrolled-${state.model}-${state.phase}.gif`, new Blob([encodeGif(images, 1000 / state.speed)], { type: "image/gif" }));
      say(`GIF of ${frames.length} frames saved.`);
    });
    button("Frames", "Download every step of this phase as numbered PNG frames (a .zip)", async () => {
      const [a, b] = range();
      say(`Drawing ${b - a + 1} frames…`);
      const t0 = state.t;
      const frames = await framesOf(state, target, a, b, 2);
      state.set({ t: t0 });
      const files = frames.map((f, i) => [`frame-${String(i).padStart(3, "0")}.png`, bytesOf(f)]);
      save(`unrolled-${state.model}-${state.phase}-frames.zip`, new Blob([zipFiles(files)], { type: "application/zip" }));
      say(`${frames.length} frames saved.`);
    });
  }
  return { svgOf, pngOf, framesOf: (target, a, b, scale) => framesOf(state, target, a, b, scale), targets };
}
