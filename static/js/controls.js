// DOM controls that only talk to the State and the Player: player bar, keyboard, theme, tabs, links.
import { toPosition } from "./player.js";

const $ = (id) => document.getElementById(id);

export function bindPlayer(state, player) {
  const play = $("btn-play"), scrub = $("scrubber"), label = $("step-label"), speed = $("speed-select");
  $("btn-first").addEventListener("click", () => player.first());
  $("btn-back").addEventListener("click", () => player.step(-1));
  $("btn-fwd").addEventListener("click", () => player.step(1));
  $("btn-last").addEventListener("click", () => player.end());
  play.addEventListener("click", () => player.toggle());
  scrub.addEventListener("input", () => { player.pause(); player.seek(Number(scrub.value)); });
  speed.addEventListener("change", () => state.set({ speed: Number(speed.value) }));
  const showSpeed = () => {
    if (Number(speed.value) === state.speed) return;
    let opt = [...speed.options].find((o) => Number(o.value) === state.speed);
    if (!opt) {   // a speed from a link that the menu does not list: add it, do not show 1×
      opt = new Option(`${state.speed}×`, String(state.speed));
      const after = [...speed.options].find((o) => Number(o.value) > state.speed);
      speed.add(opt, after || null);
    }
    speed.value = opt.value;
  };
  showSpeed();   // before any trace: the menu shows the real speed
  const paintPlay = () => {
    const playing = player.playing ? "1" : "0";
    if (document.body.dataset.playing !== playing) document.body.dataset.playing = playing;
    const text = player.playing ? "❚❚ Pause" : "▶ Play";
    if (play.textContent === text) return;
    play.textContent = text;
    play.setAttribute("aria-label", player.playing ? "Pause" : "Play");
  };
  player.addEventListener("playstate", paintPlay);
  return function render(trace) {
    const T = trace ? trace.steps.length : 0;
    scrub.max = String(Math.max(0, 2 * T - 1));
    scrub.value = String(toPosition(state.t, state.phase, T, player.reverse));
    const tok = trace && trace.steps[state.t] ? trace.steps[state.t].token : "";
    // a reverse direction computes right to left, and its BPTT runs left to right
    const arrows = player.reverse ? ["Forward ←", "Backward →"] : ["Forward →", "← Backward"];
    label.textContent = T ? `${arrows[state.phase === "forward" ? 0 : 1]} · t = ${state.t} / ${T - 1} · “${tok}”`
      : state.text ? "nothing to play" : "no sentence";
    label.dataset.t = String(state.t);
    label.dataset.phase = state.phase;
    if (document.body.dataset.phase !== state.phase) document.body.dataset.phase = state.phase;
    showSpeed();
    paintPlay();
  };
}

/** The player sticks just under the top bar: tell the CSS how tall both really are (fonts, zoom
 * and a narrow projector change that), so the bar never covers the player's buttons. */
export function trackStickyHeights() {
  const root = document.documentElement;
  for (const [id, name] of [["topbar", "--topbar-h"], ["player", "--player-h"]]) {
    const node = $(id);
    if (!node) continue;
    const write = () => root.style.setProperty(name, `${node.offsetHeight}px`);
    write();
    new ResizeObserver(write).observe(node);
  }
}

/** Space, arrows, Home and End drive the player, except while the student is typing. */
export function bindKeyboard(player) {
  document.addEventListener("keydown", (ev) => {
    const tag = ev.target && ev.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || ev.target.isContentEditable) return;
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const actions = {
      " ": () => player.toggle(),
      ArrowRight: () => player.step(1),
      ArrowLeft: () => player.step(-1),
      Home: () => player.first(),
      End: () => player.end(),
    };
    const act = actions[ev.key];
    if (act) { ev.preventDefault(); act(); }
  });
}

function effectiveTheme(theme) {
  if (theme !== "auto") return theme;
  return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

/** The theme button cycles light → dark → auto (auto follows the computer's setting). */
export function nextTheme(theme) {
  return { auto: "light", light: "dark", dark: "auto" }[theme] || "auto";
}

export function applyTheme(state) {
  document.documentElement.dataset.theme = state.theme;
  document.documentElement.dataset.effectiveTheme = effectiveTheme(state.theme);
  const btn = $("theme-toggle");
  if (btn) {
    btn.textContent = `Theme: ${state.theme}`;
    btn.dataset.theme = state.theme;
  }
}

export function bindTheme(state) {
  const btn = $("theme-toggle");
  if (btn) {
    btn.addEventListener("click", () => state.set({ theme: nextTheme(state.theme) }));
  }
  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => applyTheme(state));
  applyTheme(state);
}

/**
 * A number box for an optional setting (clip, truncate): empty means off; anything else must be
 * valid, or it is not applied (nothing is sent) and a message next to the box says why.
 * `parse(raw)` answers the value or null. Returns `apply(raw)` (e.g. for a value from a link)
 * and `sync()` (the state changed elsewhere: show its value, drop the message).
 */
export function bindNumberField(state, { name, input, error, parse, rule, what }) {
  const show = (msg) => {
    error.hidden = !msg;
    error.textContent = msg || "";
    if (msg) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  };
  const apply = (raw, badInput = false) => {
    raw = String(raw).trim();
    const value = raw === "" && !badInput ? null : parse(raw);
    if (value == null && (raw !== "" || badInput)) {
      const now = state[name] == null ? "off" : `at ${state[name]}`;
      show(`${rule} Not applied: ${what} stays ${now}.`);
      return false;
    }
    show(null);
    state.set({ [name]: value });
    return true;
  };
  input.addEventListener("change", () => apply(input.value, input.validity.badInput));
  const sync = () => {
    input.value = state[name] ?? "";
    show(null);
  };
  sync();
  return { apply, sync };
}

/**
 * The truncation mode menu (chunked | sliding) beside "Truncate k". The server refuses a mode a
 * model cannot run (sliding on a stacked model): `refusal(message)` answers whether an error is
 * that refusal and, if so, shows its sentence next to the menu. `sync()` shows the state's mode
 * (the menu is off while truncation is).
 */
export function bindTruncateMode(state, { select, error }) {
  const FIELD = "truncate_mode:";   // the server names the field its sentence is about
  const show = (msg) => {
    error.hidden = !msg;
    error.textContent = msg || "";
    if (msg) select.setAttribute("aria-invalid", "true"); else select.removeAttribute("aria-invalid");
  };
  select.addEventListener("change", () => state.set({ tmode: select.value }));
  const sync = () => {
    select.value = state.tmode;
    select.disabled = state.truncate == null;   // without a k there is nothing to choose
  };
  sync();
  const refusal = (message) => {
    const text = String(message || "");
    if (!text.startsWith(FIELD)) return false;
    show(text.slice(FIELD.length).trim());
    return true;
  };
  return { sync, refusal, clear: () => show(null) };
}

export const positiveNumber = (raw) => {
  const n = Number(raw);
  return raw !== "" && Number.isFinite(n) && n > 0 ? n : null;
};

export const wholeNumberAtLeastOne = (raw) => {
  const n = Number(raw);
  return raw !== "" && Number.isInteger(n) && n >= 1 ? n : null;
};

/** Stacked or bidirectional models: a menu of the layers and directions to look inside. Layers
 * count from 0 at the bottom, as PyTorch's `_l0`, `_l1` names do. Hidden for a plain model. */
export function bindLayerSelect(state, model) {
  const field = $("layer-field"), select = $("layer-select");
  select.addEventListener("change", () => {
    const [layer, direction] = select.value.split(":").map(Number);
    state.set({ layer, direction });
  });
  return function render() {
    const m = model();
    const L = m ? m.num_layers : 1, dirs = m && m.bidirectional ? 2 : 1;
    field.hidden = L * dirs <= 1;
    const options = [];
    for (let l = 0; l < L; l++) {
      for (let d = 0; d < dirs; d++) {
        const name = `layer ${l}${l === L - 1 && L > 1 ? " (top)" : ""}${dirs > 1 ? (d ? " ← reverse" : " → forward") : ""}`;
        options.push([`${l}:${d}`, name]);
      }
    }
    if (select.options.length !== options.length || [...select.options].some((o, i) => o.value !== options[i][0])) {
      select.replaceChildren(...options.map(([value, name]) => new Option(name, value)));
    }
    const layer = state.layer < 0 ? L + state.layer : state.layer;
    select.value = `${layer}:${state.direction}`;
  };
}

export function bindTabs(state) {
  for (const btn of document.querySelectorAll("[data-view]")) {
    btn.addEventListener("click", () => state.set({ view: btn.dataset.view }));
  }
  return function render() {
    for (const btn of document.querySelectorAll("[data-view]")) {
      const on = btn.dataset.view === state.view;
      btn.setAttribute("aria-selected", String(on));
      btn.classList.toggle("active", on);
      $(`view-${btn.dataset.view}`).hidden = !on;
    }
  };
}

/** The address to give out. A page opened at localhost on a server listening on the network
 * (--host 0.0.0.0) gives the server's LAN address, the one students can open; otherwise the
 * page's own address. */
export function shareOrigin() {
  const lan = document.body.dataset.shareOrigin;
  const local = ["localhost", "127.0.0.1", "[::1]"].includes(location.hostname);
  return lan && local ? lan : location.origin;
}

export function embedCode(state) {
  const src = `${shareOrigin()}/embed?${state.toQuery()}`;
  const esc = src.replace(/&/g, "&amp;").replace(/"/g, "&quot;");
  return `<iframe src="${esc}" width="800" height="450" style="border:0" ` +
    `title="Unrolled: a recurrent network, step by step" loading="lazy"></iframe>`;
}

export function bindCopy(state) {
  const status = $("copy-status");
  const copy = async (text, what) => {
    status.dataset.copied = text;
    try {
      await navigator.clipboard.writeText(text);
      const lan = shareOrigin() !== location.origin;
      status.textContent = lan ? `${what} copied, with the address students can open: ${shareOrigin()}` : `${what} copied`;
    } catch {
      status.textContent = `Copy this ${what.toLowerCase()}: ${text}`;
    }
    setTimeout(() => { status.textContent = ""; }, 4000);
  };
  $("copy-link").addEventListener("click", () => copy(`${shareOrigin()}/?${state.toQuery()}`, "Link"));
  $("copy-embed").addEventListener("click", () => copy(embedCode(state), "Embed code"));
}
