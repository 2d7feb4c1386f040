// Where each part of the unrolled network goes, for any stack: one row per layer and direction
// (layer 0 at the bottom; in a bidirectional layer the reverse row above the forward one), a
// join node [h→_t ; h←_t] above each bidirectional layer, the output and the loss on top, the
// inputs below. The row the trace shows step by step (its layer and direction) is drawn tall,
// with its units; the others are compact, coloured from the trace's overview.
// And the order the network computes its cells in, which the player walks.

export const Y_PRED = 24, Y_LOSS = 44, Y_OUT = 58;
export const TOP = 84;                 // where the rows start
export const CELL_H = 72;              // the shown row's cells
export const SMALL_H = 26;             // the other rows' cells
const SHOWN_BLOCK = 124, SMALL_BLOCK = 44, JOIN_BLOCK = 30, JOIN_H = 18;

/** A trace's rows, top to bottom: {layer, direction, shown, y (cell top), h, yMid, yH, yC}. */
export function layout(trace) {
  const L = trace.num_layers ?? 1, dirs = trace.bidirectional ? 2 : 1;
  const rows = [], joins = [];    // joins[l]: y of the join node above layer l (bidirectional)
  let y = TOP;
  for (let l = L - 1; l >= 0; l--) {
    if (dirs === 2) {
      joins[l] = y + (JOIN_BLOCK - JOIN_H) / 2;
      y += JOIN_BLOCK;
    }
    for (let d = dirs - 1; d >= 0; d--) {
      // (the shown row of a stack needs less room under it: no step labels below its W_hh)
      const shown = l === trace.layer && d === trace.direction;
      const top = y + (shown ? 16 : 9), h = shown ? CELL_H : SMALL_H;
      rows.push({ layer: l, direction: d, shown, y: top, h, yMid: top + h / 2,
        yC: top + 16, yH: shown ? top + CELL_H - 16 : top + h / 2 });
      y += shown ? SHOWN_BLOCK : SMALL_BLOCK;
    }
  }
  const yTok = y + 28, yBar = yTok + 60;
  return { rows, joins, joinH: JOIN_H, yTok, yBar, height: yBar + 4, L, dirs,
    row: (l, d) => rows.find((r) => r.layer === l && r.direction === d),
    shown: rows.find((r) => r.shown) };
}

/** Step s's position in its own direction's time: a reverse row runs from T-1 down to 0. */
export const ownTime = (s, direction, T) => (direction === 1 ? T - 1 - s : s);

/**
 * Has the network computed cell (l, d, s) by the player's (t, phase), the player walking the
 * shown cell (L*, D*)? Unidirectional stacks compute time-major (every layer at step t, then
 * t+1): a cell is done when s ≤ t. A bidirectional layer needs its whole input first, so the
 * network computes layer by layer (forward direction, then reverse), each row in its own time.
 * BPTT runs the same order backwards; `backward` asks whether a cell's gradient is in.
 */
export function computed(tr, l, d, s, t, backward) {
  const T = tr.steps.length;
  if (!tr.bidirectional) return backward ? s >= t : s <= t;
  const a = l * 2 + d, b = tr.layer * 2 + tr.direction;
  if (a !== b) return backward ? a > b : a < b;
  const own = ownTime(s, d, T), now = ownTime(t, d, T);
  return backward ? own >= now : own <= now;
}
