// Visual constants in one place (LSTMVis style): colours, sizes, timing.

// Colour-blind-safe diverging scale: blue (negative) – neutral – orange (positive). Never red–green.
export const DIVERGING = ["#2166ac", "#6fa8d6", "#f2f2f2", "#f6a75c", "#c9520a"];
// Sequential viridis-like scale for values in [0, 1] (the sigmoid gates).
export const VIRIDIS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"];

// The same colour marks the shared recurrent weight on every arrow.
export const SHARED_W_COLOR = "#7b3fb0";
export const GRAD_COLOR = "#d95f02";
export const CELL_STATE_COLOR = "#1b9e77";

export const UNROLLED = {
  stepWidth: 112,       // px per timestep for short sentences
  minStepWidth: 44,     // compressed width for long sentences (T up to ~100 scrolls)
  height: 300,
  cellTop: 110,
  cellHeight: 72,
  cellWidthRatio: 0.56,
  gradMinWidth: 1.5,    // px: tiny gradients stay visible (log scale)
  gradMaxWidth: 14,
};

export const DEBOUNCE_MS = 300;

// Plotly colour scales matching the SVG colours.
export const PLOTLY_DIVERGING = DIVERGING.map((c, i) => [i / (DIVERGING.length - 1), c]);
export const PLOTLY_VIRIDIS = VIRIDIS.map((c, i) => [i / (VIRIDIS.length - 1), c]);
