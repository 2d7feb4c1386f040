// Tiny DOM helpers. User text only ever goes in through textContent / text nodes.
const SVG_NS = "http://www.w3.org/2000/svg";

/** Create an HTML element; `text` is inserted as text, never parsed as HTML. */
export function el(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, String(v));
    else node.setAttribute(k, String(v));
  }
  if (text != null) node.textContent = String(text);
  return node;
}

/** Create an SVG element; `text` becomes the node's textContent. */
export function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null) continue;
    node.setAttribute(k, String(v));
  }
  if (text != null) node.textContent = String(text);
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function fmt(v, digits = 3) {
  if (v == null || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e4)) return v.toExponential(2).replace("-", "−");
  return v.toFixed(digits).replace("-", "−");
}

/** Show a token so whitespace is visible (a space becomes ␣); the result is still plain text. */
export function showToken(tok) {
  if (tok == null) return "∅";
  if (tok === " ") return "␣";
  if (tok === "\n") return "↵";
  return tok;
}

export function debounce(fn, ms) {
  let id = 0;
  const wrapped = (...args) => {
    clearTimeout(id);
    id = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(id);
  return wrapped;
}

/** A view's box width for its next drawing: the one its measure() read, if it did (the
 * controller asks every view to measure before any of them draws: a width read after another
 * view has drawn makes the browser lay the page out in the middle of the task), else read now. */
export function boxWidth(view) {
  const w = view.measured ?? view.container.clientWidth;
  view.measured = null;
  return w;
}
