// Train in the page: a character model on the student's text (typed, uploaded or a preset),
// trained by the server (POST /api/train) while the panel shows the loss curve, the speed, the
// time left and a sample every few steps. Every sample comes with a snapshot of the weights
// (model id "<job>@<step>"); the scrubber traces the page's sentence with the snapshot picked,
// so the unrolled network, the cell, its gates and the gradients show the network learning.
// Progress is polled (GET /api/train/{job}, one request at a time, none left open).
import { el, clear, debounce } from "../dom.js";
import { TrainForm } from "./train_form.js";
import { LossCurve } from "./train_curve.js";
import { request, fetchModel } from "../api.js";

const POLL_MS = 400;
const PICK_MS = 120;               // a dragged scrubber traces once it rests
const FINISHED = ["done", "cancelled", "failed"];
const JOB_KEY = "unrolled-train-job";  // the job survives a reload of the page (this tab only)

/** Every request of the panel: through api.js (an exported file refuses them all). */
function call(method, url, body) {
  return request(method, url, body ? { body } : {});
}

/** A model's detail (GET /api/models/{id}): a training snapshot's too. */
export { fetchModel };

function duration(s) {
  if (s == null) return "–";
  if (s < 1) return "under 1 s";
  if (s < 90) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export class TrainPanel {
  /**
   * `limits`: the server's train_max_* settings. `useModel(detail, {text, reset})` shows a model
   * (a snapshot or the trained model) in the explorer; `refreshModels()` re-reads /api/models.
   */
  constructor(root, state, { limits, useModel, refreshModels }) {
    this.root = root;
    this.state = state;
    this.limits = limits;
    this.useModel = useModel;
    this.refreshModels = refreshModels;
    this.job = null;            // the newest status
    this.selectedStep = null;   // the snapshot shown (its step), or null
    this.detail = null;         // the job's model detail, the same for all its snapshots
    this.shownJob = null;       // the job whose snapshots the explorer shows
    this.pollTimer = 0;
    this.pickSoon = debounce(() => this.showSelected(), PICK_MS);
    this.build();
    const saved = sessionStorage.getItem(JOB_KEY);
    if (saved) this.watch(saved, true);
  }

  build() {
    const body = this.root.querySelector("[data-train-body]");
    const left = el("div", { class: "train-setup" });
    const right = el("div", { class: "train-live" });
    body.append(left, right);
    this.message = el("p", { class: "train-message", id: "train-message", role: "status", "aria-live": "polite" });
    this.form = new TrainForm(left, this.limits, (text, kind) => this.say(text, kind));

    const buttons = el("div", { class: "row train-buttons" });
    this.btnStart = el("button", { type: "button", id: "train-start", class: "primary" }, "▶ Start training");
    this.btnPause = el("button", { type: "button", id: "train-pause" }, "❚❚ Pause");
    this.btnResume = el("button", { type: "button", id: "train-resume", hidden: true }, "▶ Resume");
    this.btnStop = el("button", { type: "button", id: "train-stop", title: "End now and keep the model learned so far" }, "■ Stop");
    buttons.append(this.btnStart, this.btnPause, this.btnResume, this.btnStop,
      el("button", { type: "button", class: "info", "data-explain": "train", "aria-label": "About training" }, "i"));
    left.append(buttons, this.message);

    this.progress = el("progress", { id: "train-progress", max: "1", value: "0", "aria-label": "Training progress" });
    this.stats = el("div", { class: "train-stats", id: "train-stats", "aria-live": "off" });
    this.curveDiv = el("div", { class: "train-curve", id: "train-curve" });
    this.curve = new LossCurve(this.curveDiv, (i) => this.pick(i));

    const scrub = el("div", { class: "train-scrub" });
    this.scrubber = el("input", { type: "range", id: "train-scrubber", min: "0", max: "0", step: "1", value: "0",
      "aria-label": "Snapshot over training time", disabled: true });
    const scrubLabel = el("label", { class: "field train-scrub-field", for: "train-scrubber" }, "Watch it learn: snapshot");
    this.snapLabel = el("span", { class: "train-snap-label", id: "train-snap-label", "aria-live": "polite" }, "none yet");
    this.follow = el("input", { type: "checkbox", id: "train-follow" });
    const followField = el("label", { class: "field", title: "Trace each new snapshot as training makes it" });
    followField.append(this.follow, document.createTextNode("follow training"));
    scrub.append(scrubLabel, this.scrubber, this.snapLabel, followField);
    const scrubHint = el("p", { class: "hint train-scrub-hint" },
      "Pick a moment of training: the network above traces your sentence with the weights it had then.");

    this.sampleHead = el("div", { class: "train-sample-head" }, "Sample");
    this.sample = el("pre", { class: "train-sample", id: "train-sample", "aria-label": "Text sampled from the model" });
    this.result = el("div", { class: "row train-result", id: "train-result", hidden: true });
    right.append(this.progress, this.stats, this.curveDiv, scrub, scrubHint, this.sampleHead, this.sample, this.result);

    this.btnStart.addEventListener("click", () => this.start());
    this.btnPause.addEventListener("click", () => this.control("pause"));
    this.btnResume.addEventListener("click", () => this.control("resume"));
    this.btnStop.addEventListener("click", () => this.control("stop"));
    this.scrubber.addEventListener("input", () => this.pick(Number(this.scrubber.value)));
    this.follow.addEventListener("change", () => { if (this.follow.checked) this.pickNewest(); });
    this.root.querySelector("details").addEventListener("toggle", () => this.loadPresets(), { once: true });
    this.paint();
  }

  say(text, kind = "info") {
    this.message.textContent = text || "";
    this.message.dataset.kind = kind;
  }

  async loadPresets() {
    try {
      this.form.setPresets(await call("GET", "/api/train/presets"));
    } catch (err) {
      this.say(`Could not load the preset texts (${err.message}).`, "error");
    }
  }

  // ---- the job ---------------------------------------------------------------------------
  async start() {
    const body = this.form.request();
    if (!body) return;
    this.say("Starting…");
    try {
      const status = await call("POST", "/api/train", body);
      this.selectedStep = null;
      this.detail = null;
      this.say(`Training a ${body.cell.toUpperCase()} (${body.layers} × ${body.hidden_size}) on ${body.text.length.toLocaleString("en-US")} characters.`);
      this.watch(status.id, false, status);
    } catch (err) {
      this.say(err.message, "error");
    }
  }

  watch(jobId, resumed, first = null) {
    sessionStorage.setItem(JOB_KEY, jobId);
    clearTimeout(this.pollTimer);
    const poll = async () => {
      let status;
      try {
        status = await call("GET", `/api/train/${jobId}`);
      } catch (err) {
        if (err.status === 404) { sessionStorage.removeItem(JOB_KEY); if (!resumed) this.say(err.message, "error"); return; }
        this.say(`Lost touch with the server (${err.message}); trying again…`, "error");
        this.pollTimer = setTimeout(poll, POLL_MS * 5);
        return;
      }
      if (sessionStorage.getItem(JOB_KEY) !== jobId) return;   // a newer job took over
      this.update(status);
      if (!FINISHED.includes(status.state)) this.pollTimer = setTimeout(poll, POLL_MS);
    };
    if (first) { this.update(first); this.pollTimer = setTimeout(poll, POLL_MS); } else poll();
  }

  async control(action) {
    if (!this.job) return;
    try {
      this.update(await call("POST", `/api/train/${this.job.id}/${action}`));
    } catch (err) {
      this.say(err.message, "error");
    }
  }

  update(status) {
    const was = this.job;
    this.job = status;
    this.paint();
    if (status.state === "done" && was?.state !== "done") this.finished(status);
    else if (status.state === "failed") this.say(status.error || "Training failed.", "error");
    else if (status.state === "cancelled") this.say("Training was cancelled; nothing was kept.", "info");
    if (this.follow.checked && status.snapshots.length !== (was?.snapshots.length ?? 0)) this.pickNewest();
  }

  async finished(status) {
    await this.refreshModels();
    const how = status.stopped_early ? `stopped at step ${status.step} of ${status.steps}` : `${status.steps} steps`;
    this.say(`Done (${how}, loss ${status.loss?.toFixed(4) ?? "–"}): saved as ${status.model_id}, now in the model menu.`, "ok");
  }

  // ---- drawing ---------------------------------------------------------------------------
  paint() {
    const s = this.job;
    const live = s && !FINISHED.includes(s.state);
    this.root.dataset.state = s ? s.state : "idle";
    this.root.dataset.step = s ? String(s.step) : "0";
    this.btnStart.disabled = !!live;
    this.btnPause.hidden = s?.state === "paused";
    this.btnResume.hidden = s?.state !== "paused";
    this.btnPause.disabled = !live;
    this.btnStop.disabled = !live;
    this.form.setDisabled(!!live);
    if (!s) {
      this.stats.textContent = "Not training. Choose a text and a model, then Start.";
      this.sample.textContent = "";
      return;
    }
    this.progress.max = s.steps;
    this.progress.value = s.step;
    const parts = [`${s.state}`, `step ${s.step} / ${s.steps}`,
      s.steps_per_second ? `${s.steps_per_second.toFixed(1)} steps/s` : null,
      live && s.state === "running" ? `${duration(s.eta_seconds)} left` : null,
      `loss ${s.loss == null ? "–" : s.loss.toFixed(4)}`];
    // each part stays on one line (no-break spaces), the line breaks between them
    this.stats.textContent = parts.filter(Boolean).map((p) => p.replace(/ /g, "\u00a0")).join(" · ");
    this.paintSnapshots();
    this.curve.update(s, this.selectedIndex());
    this.paintResult();
  }

  selectedIndex() {
    const snaps = this.job?.snapshots || [];
    if (this.selectedStep == null || !snaps.length) return null;
    let best = 0;   // the picked step, or the nearest kept before it (snapshots are thinned)
    snaps.forEach((snap, i) => { if (snap.step <= this.selectedStep) best = i; });
    return best;
  }

  paintSnapshots() {
    const snaps = this.job.snapshots;
    this.scrubber.disabled = snaps.length === 0;
    this.scrubber.max = String(Math.max(0, snaps.length - 1));
    const i = this.selectedIndex();
    this.scrubber.value = String(i ?? Math.max(0, snaps.length - 1));
    const snap = i == null ? snaps[snaps.length - 1] : snaps[i];
    const shown = i == null ? "" : " (traced above)";
    this.snapLabel.textContent = snap ? `step ${snap.step}${snap.loss == null ? " (untrained)" : ` · loss ${snap.loss.toFixed(3)}`}${shown}` : "none yet";
    this.snapLabel.dataset.step = snap && i != null ? String(snap.step) : "";
    this.sampleHead.textContent = snap ? `Sample from the weights at step ${snap.step} (temperature 1)` : "Sample";
    this.sample.textContent = snap ? snap.sample : "";
  }

  paintResult() {
    const s = this.job;
    clear(this.result);
    const snap = this.selectedIndex() == null ? null : s.snapshots[this.selectedIndex()];
    if (s.state !== "done" && !snap) { this.result.hidden = true; return; }
    this.result.hidden = false;
    if (s.state === "done") {
      const explore = el("button", { type: "button", id: "train-explore" }, "Explore the trained model");
      explore.addEventListener("click", () => this.explore());
      this.result.append(explore, el("a", { class: "button", id: "train-download", download: "",
        href: `/api/models/${encodeURIComponent(s.model_id)}/download` }, "Download model (.npz)"));
    }
    if (snap) {
      this.result.append(el("a", { class: "button", id: "train-download-snapshot", download: "",
        href: `/api/models/${encodeURIComponent(snap.id)}/download` }, `Download the step-${snap.step} weights`));
    }
  }

  // ---- snapshots in the explorer -----------------------------------------------------------
  pick(index) {
    const snap = this.job?.snapshots[index];
    if (!snap) return;
    if (index !== this.job.snapshots.length - 1) this.follow.checked = false;
    this.selectedStep = snap.step;
    this.paintSnapshots();
    this.curve.update(this.job, index);
    this.paintResult();
    this.pickSoon();
  }

  pickNewest() {
    const n = this.job?.snapshots.length || 0;
    if (n) this.pick(n - 1);
  }

  async showSelected() {
    const i = this.selectedIndex();
    if (i == null) return;
    const snap = this.job.snapshots[i];
    try {
      if (!this.detail || this.detail.job !== this.job.id) {
        this.detail = { job: this.job.id, ...(await call("GET", `/api/models/${encodeURIComponent(snap.id)}`)) };
      }
    } catch (err) {
      this.say(err.message, "error");
      return;
    }
    const firstTime = this.shownJob !== this.job.id;
    this.shownJob = this.job.id;
    const { job: _job, ...detail } = this.detail;
    // the same sentence for every snapshot: the start of the training text, then the student's
    this.useModel({ ...detail, id: snap.id }, { text: firstTime ? firstLine(detail.example) : null, reset: false });
  }

  async explore() {
    await this.refreshModels();
    const detail = await call("GET", `/api/models/${encodeURIComponent(this.job.model_id)}`);
    this.useModel(detail, { text: firstLine(detail.example), reset: true });
  }
}

/** A sentence to trace from a training text: its first line, at most 24 characters. */
function firstLine(text) {
  const line = (text || "").split("\n").find((l) => l.trim()) || text || "";
  return [...line].slice(0, 24).join("") || null;
}
