// "Download view": the server builds this view as one HTML file that works offline
// (GET /api/export with the page's state query; server/api/routers/export.py).

export function exportUrl(state) {
  return `/api/export?${state.toQuery()}`;
}

export function bindDownload(state, { button, status }) {
  if (!button) return;
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "Preparing the file (the page, its code and plotly.js, about 2 MB)…";
    try {
      const resp = await fetch(exportUrl(state));
      if (!resp.ok) {
        let msg = `${resp.status} ${resp.statusText}`;
        try { msg = (await resp.json()).detail || msg; } catch { /* not JSON */ }
        throw new Error(msg);
      }
      const name = /filename="([^"]+)"/.exec(resp.headers.get("content-disposition") || "")?.[1] || "unrolled-view.html";
      const url = URL.createObjectURL(await resp.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      status.textContent = `Saved ${name}: it opens in any browser, with no server and no network.`;
    } catch (e) {
      status.textContent = `Could not export this view: ${e.message}`;
    } finally {
      button.disabled = false;
      setTimeout(() => { status.textContent = ""; }, 6000);
    }
  });
}
