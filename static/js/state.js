// One State object, described by a table of properties and mirrored to the URL query
// (TensorFlow Playground's State/URL split). Any view is a link.

/** The table: name, type, default, whether a change adds a browser history entry. */
export const PROPS = [
  { name: "model", type: "string", def: "", history: true },
  { name: "text", type: "string", def: "", history: true },
  { name: "t", type: "int", def: 0, history: false },           // current step
  { name: "phase", type: "enum", values: ["forward", "backward"], def: "forward", history: false },
  { name: "unit", type: "int", def: 0, history: true },         // selected hidden unit
  { name: "clip", type: "float?", def: null, history: true },   // gradient clipping value
  { name: "truncate", type: "int?", def: null, history: true }, // truncated BPTT k
  // how truncate cuts BPTT: chunks of k steps (the course's), or a window of k steps per loss
  { name: "tmode", type: "enum", values: ["chunked", "sliding"], def: "chunked", history: true },
  { name: "view", type: "enum", values: ["heatmaps", "gradients", "compare", "generate", "path", "units", "diagram", "order"], def: "heatmaps", history: true },
  // follow: false = each screen's own (a classroom's students do not take the teacher's)
  { name: "theme", type: "enum", values: ["auto", "light", "dark"], def: "auto", history: false, follow: false },
  { name: "speed", type: "float", def: 4, history: false },     // steps per second
  { name: "layer", type: "int", def: -1, min: -1, history: true },  // layer shown step by step (-1 = top)
  { name: "direction", type: "int", def: 0, max: 1, history: true }, // 0 forward, 1 reverse
  { name: "gscale", type: "enum", values: ["auto", "fixed"], def: "auto", history: true }, // gradient colours
  // Generate: p = softmax(z / temperature) (0 = argmax), the seed of the draws, tokens to draw
  { name: "temperature", type: "float", def: 1, min: 0, max: 2, history: true },
  { name: "seed", type: "int", def: 0, max: 2147483647, history: true },
  { name: "n", type: "int", def: 20, min: 1, history: true },
  // Path of h: a second sentence drawn on the same axes. Finding units: the span of steps "a-b"
  // (inclusive), the quantity scored (h, or an LSTM's c) and the ranking (higher, lower, either)
  { name: "overlay", type: "string", def: "", history: true },
  { name: "span", type: "string", def: "", history: true },
  { name: "usource", type: "enum", values: ["h", "c"], def: "h", history: true },
  { name: "urank", type: "enum", values: ["up", "down", "abs"], def: "up", history: true },
  // Encoder–decoder: the target text (teacher forcing; "" = the model decodes); tree: the root's label
  { name: "target", type: "string", def: "", history: true },
  // The attention what-if (an intervention): "t:s" all of step t's weight on source s, or "t:a0,a1,…"
  { name: "whatif", type: "string", def: "", history: true },
  // Order matters: the bag-of-words model and the two sentences ("" = the model's own pair)
  { name: "bow", type: "string", def: "", history: true },
  { name: "order_a", type: "string", def: "", history: true },
  { name: "order_b", type: "string", def: "", history: true },
  // Presentation mode (static/js/present.js) and the classroom room followed (classroom.js)
  { name: "present", type: "int", def: 0, max: 1, history: false, follow: false },
  { name: "room", type: "string", def: "", history: false, follow: false },
];
const ALWAYS_IN_URL = new Set(["model", "text", "t", "phase"]);

function parse(prop, raw) {
  if (raw == null) return prop.def;
  switch (prop.type) {
    case "string": return raw;
    case "int": {
      const n = parseInt(raw, 10);
      return Number.isFinite(n) && n >= (prop.min ?? 0) && n <= (prop.max ?? Infinity) ? n : prop.def;
    }
    case "float": {   // above 0 unless the table gives a min
      const n = parseFloat(raw);
      const low = prop.min == null ? n > 0 : n >= prop.min;
      return Number.isFinite(n) && low && n <= (prop.max ?? Infinity) ? n : prop.def;
    }
    case "int?": { const n = parseInt(raw, 10); return Number.isFinite(n) && n > 0 ? n : null; }
    case "float?": { const n = parseFloat(raw); return Number.isFinite(n) && n > 0 ? n : null; }
    case "enum": return prop.values.includes(raw) ? raw : prop.def;
    default: return prop.def;
  }
}

export class State extends EventTarget {
  constructor() {
    super();
    for (const p of PROPS) this[p.name] = p.def;
  }

  /** Read every property from a query string; missing ones take their defaults. */
  static fromQuery(search) {
    const s = new State();
    s.assignQuery(search);
    return s;
  }

  assignQuery(search) {
    const q = new URLSearchParams(search);
    for (const p of PROPS) this[p.name] = parse(p, q.get(p.name));
  }

  toQuery() {
    const q = new URLSearchParams();
    for (const p of PROPS) {
      const v = this[p.name];
      if (!ALWAYS_IN_URL.has(p.name) && (v === p.def || v == null)) continue;
      q.set(p.name, v == null ? "" : String(v));
    }
    return q.toString();
  }

  snapshot() {
    return Object.fromEntries(PROPS.map((p) => [p.name, this[p.name]]));
  }

  /**
   * Change some properties and tell listeners which ones changed.
   * `source` lets a listener ignore changes it caused (e.g. the URL sync on popstate).
   */
  set(patch, source = "ui") {
    const changed = [];
    for (const [k, v] of Object.entries(patch)) {
      if (!PROPS.some((p) => p.name === k)) throw new Error(`unknown state property ${k}`);
      if (this[k] !== v) { this[k] = v; changed.push(k); }
    }
    if (changed.length) {
      this.dispatchEvent(new CustomEvent("change", { detail: { changed, source } }));
    }
    return changed;
  }
}

/** Keep the URL and the State in step: pushState for meaningful changes, replaceState for steps. */
export function syncUrl(state, path = location.pathname) {
  const TYPING = new Set(["input", "live"]);
  const REPLACE_DELAY_MS = 200;
  let lastSource = null;
  let timer = 0;
  const url = () => `${path}?${state.toQuery()}`;
  const replaceNow = () => {
    timer = 0;
    if (url() !== location.pathname + location.search) history.replaceState(null, "", url());
  };
  const write = (changed, source) => {
    // One history entry per burst of typing, none for player steps or controller clamps.
    const typingOn = TYPING.has(source) && TYPING.has(lastSource);
    lastSource = source;
    const push = !typingOn && source !== "controller" &&
      changed.some((k) => PROPS.find((p) => p.name === k).history);
    if (push) {
      clearTimeout(timer);
      timer = 0;
      if (url() !== location.pathname + location.search) history.pushState(null, "", url());
    } else if (!timer) {
      // replaceState costs milliseconds of browser IPC: while playing, write at most 5× a second.
      timer = setTimeout(replaceNow, REPLACE_DELAY_MS);
    }
  };
  state.addEventListener("change", (e) => {
    if (e.detail.source !== "url") write(e.detail.changed, e.detail.source);
    else lastSource = "url";
  });
  window.addEventListener("popstate", () => {
    clearTimeout(timer);
    timer = 0;
    const next = State.fromQuery(location.search);
    state.set(next.snapshot(), "url");
  });
  window.addEventListener("pagehide", () => { if (timer) replaceNow(); });
  history.replaceState(null, "", url());
}
