// Map numbers to colours (pure functions; no DOM).
import { DIVERGING, VIRIDIS } from "./config.js";

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
const DIV_RGB = DIVERGING.map(hexToRgb);
const VIR_RGB = VIRIDIS.map(hexToRgb);

// Colours are whole RGB values, so u in steps of 1/4096 gives the same strings: remembered, as the
// views ask for thousands of them per trace and per step.
const LEVELS = 4096;
const memo = new Map();

function interpolate(stops, u) {
  const q = Math.round(Math.min(1, Math.max(0, u)) * LEVELS);
  const key = (stops === DIV_RGB ? 0 : LEVELS + 1) + q;
  let c = memo.get(key);
  if (c === undefined) memo.set(key, (c = mix(stops, q / LEVELS)));
  return c;
}

function mix(stops, u) {
  const x = u * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const rgb = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
  return `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
}

/** Diverging colour for v in [-scale, scale] (0 is neutral). */
export function diverging(v, scale = 1) {
  if (v == null || Number.isNaN(v)) return "transparent";
  return interpolate(DIV_RGB, 0.5 + v / (2 * (scale || 1)));
}

/** Sequential colour for v in [0, 1]. */
export function sequential(v) {
  if (v == null || Number.isNaN(v)) return "transparent";
  return interpolate(VIR_RGB, v);
}

/** Text colour readable on top of a colour produced above. */
export function inkFor(rgbString) {
  const m = /rgb\((\d+),(\d+),(\d+)\)/.exec(rgbString);
  if (!m) return "currentColor";
  const lum = 0.2126 * m[1] + 0.7152 * m[2] + 0.0722 * m[3];
  return lum > 140 ? "#111" : "#fff";
}

/** Which scale a quantity uses: sigmoid gates live in [0,1]; everything else is signed. */
export function isUnitInterval(name) {
  return ["i", "f", "o", "r", "z"].includes(name);
}

export function colorFor(name, v, scale = 1) {
  return isUnitInterval(name) ? sequential(v) : diverging(v, scale);
}
