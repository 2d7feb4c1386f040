// Presentation mode (?present=1): large type, high contrast, the controls hidden, driven from
// the keyboard — ← → step, Space plays, Home/End, 1–9 open the tabs in order, Esc leaves.
// The look is static/css/present.css (body.present).
const $ = (id) => document.getElementById(id);

export function bindPresentation(state) {
  const exit = $("present-exit"), enter = $("present-button");
  const tabs = () => [...document.querySelectorAll('.tabs [role="tab"]')];

  function render() {
    const on = state.present === 1;
    document.body.classList.toggle("present", on);
    exit.hidden = !on;
    if (on && document.activeElement && document.activeElement !== document.body) {
      document.activeElement.blur();   // a hidden text box must not swallow the arrow keys
    }
  }

  document.addEventListener("keydown", (ev) => {
    if (state.present !== 1 || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const tag = ev.target && ev.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    if (ev.key === "Escape") {
      if (document.querySelector("dialog[open]")) return;   // Esc closes the dialog first
      ev.preventDefault();
      state.set({ present: 0 });
    } else if (/^[1-9]$/.test(ev.key)) {
      const tab = tabs()[Number(ev.key) - 1];
      if (tab) { ev.preventDefault(); tab.click(); }
    }
  });
  exit.addEventListener("click", () => state.set({ present: 0 }));
  if (enter) enter.addEventListener("click", () => state.set({ present: 1 }));
  state.addEventListener("change", (e) => { if (e.detail.changed.includes("present")) render(); });
  render();
}
