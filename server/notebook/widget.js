// The Unrolled notebook widget: the exported page (self-contained, no network) in an iframe that
// grows to the page's height. No import from anywhere: everything the page needs is in `html`.
function render({ model, el }) {
  const frame = document.createElement("iframe");
  frame.title = "Unrolled";
  frame.style.cssText = `width:100%;border:0;height:${model.get("height")}px`;
  let observer = null;
  const fit = () => {
    try {
      const doc = frame.contentDocument;
      if (!doc || !doc.documentElement) return;
      frame.style.height = `${doc.documentElement.scrollHeight}px`;
      if (!observer && window.ResizeObserver) {
        observer = new ResizeObserver(() => { frame.style.height = `${doc.documentElement.scrollHeight}px`; });
        observer.observe(doc.documentElement);
      }
    } catch { /* a front end that isolates the frame: keep the given height */ }
  };
  frame.addEventListener("load", fit);
  const show = () => { if (observer) { observer.disconnect(); observer = null; } frame.srcdoc = model.get("html"); };
  model.on("change:html", show);
  show();
  el.append(frame);
  return () => { if (observer) observer.disconnect(); model.off("change:html", show); };
}

export default { render };
