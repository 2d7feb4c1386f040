// The attention what-if in the State (`whatif`): "t:s" puts all of decoder step t's attention on
// source position s; "t:a0,a1,…" gives step t's S weights (normalised to sum to 1 when read).
// Pure functions: no DOM, no requests.

/** The what-if for a trace with S source tokens and T decoder steps, or null (none or invalid). */
export function parseWhatIf(raw, S, T) {
  const m = /^(\d+):(.+)$/.exec(String(raw || ""));
  if (!m) return null;
  const t = Number(m[1]);
  if (!Number.isInteger(t) || t >= T) return null;
  if (/^\d+$/.test(m[2])) {
    const s = Number(m[2]);
    return s < S ? { t, focus: s } : null;
  }
  const w = m[2].split(",").map(Number);
  if (w.length !== S || w.some((x) => !Number.isFinite(x) || x < 0)) return null;
  const sum = w.reduce((a, b) => a + b, 0);
  if (!(sum > 0)) return null;
  return { t, alpha: w.map((x) => x / sum) };
}

/** The State string for all of step t's attention on source s. */
export function focusWhatIf(t, s) {
  return `${t}:${s}`;
}

/** The State string for step t's weights (any non-negative numbers; they are normalised). */
export function alphaWhatIf(t, weights) {
  const sum = weights.reduce((a, b) => a + b, 0) || 1;
  return `${t}:${weights.map((x) => Number((x / sum).toFixed(4))).join(",")}`;
}

/** The weights a what-if gives step t (focus: one-hot). */
export function whatIfAlpha(w, S) {
  return w.alpha || Array.from({ length: S }, (_, s) => (s === w.focus ? 1 : 0));
}

/** The request fields of POST /api/seq2seq/whatif for a parsed what-if. */
export function whatIfBody(w) {
  return w.alpha ? { t: w.t, alpha: w.alpha } : { t: w.t, focus: w.focus };
}
