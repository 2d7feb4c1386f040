// The embed (/embed) shows the network and the cell; with view=path or view=units in its link it
// shows that view in their place instead, full height, with the same player under it.
const EMBED_VIEWS = ["path", "units"];

export function bindEmbedViews(state) {
  const main = document.querySelector("main.embed");
  const show = () => {
    const open = EMBED_VIEWS.includes(state.view) ? state.view : null;
    main.classList.toggle("embed-with-view", !!open);
    for (const v of EMBED_VIEWS) document.getElementById(`view-${v}`).hidden = v !== open;
  };
  state.addEventListener("change", (e) => { if (e.detail.changed.includes("view")) show(); });
  show();
}
