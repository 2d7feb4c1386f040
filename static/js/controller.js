// Owns the current trace: loads it (WebSocket stream, or POST as a fallback), extends it with
// live-typed steps, and tells every view. Views never fetch the sentence themselves.
import { fetchSample, fetchTrace, traceRequest, TraceSocket } from "./api.js";
import { fetchKindTrace, kindOf } from "./kinds.js";

const ONE_TO_MANY_STEPS = 10;   // the steps a one-to-many model runs from its one input

export class Controller extends EventTarget {
  /** `kindViews`: the views of the other model kinds ({seq2seq: [...], tree: [...]}, kinds.js). */
  constructor(state, player, views, kindViews = {}) {
    super();
    this.state = state;
    this.player = player;
    this.sequenceViews = views;
    this.kindViews = kindViews;
    this.kind = "sequence";        // the kind of model the views show (a "kind" event on change)
    // update(trace), render(), reset(reason); optional append(trace, from) (live steps) and
    // complete(trace) (the backward half of a trace drawn without it has arrived)
    this.views = views;
    this.trace = null;
    this.models = [];
    this.loadGen = 0;
    this.synced = false;           // the socket's state is the end of this.trace's sentence
    this.socket = new TraceSocket({
      onLive: (frame) => this.onLive(frame),
      onError: (err) => this.onSocketError(err),
      onStatus: (s) => { if (s === "closed") this.synced = false; },
    });
  }

  get model() {
    return this.models.find((m) => m.id === this.state.model) || null;
  }

  showError(msg) {
    this.dispatchEvent(new CustomEvent("error", { detail: msg }));
  }

  /** Switch the views to those of a model kind (the previous kind's views are emptied). */
  useKind(kind) {
    if (kind === this.kind) return;
    for (const v of this.views) v.reset("");
    this.trace = null;
    this.kind = kind;
    this.views = kind === "sequence" ? this.sequenceViews : this.kindViews[kind] || [];
    this.dispatchEvent(new CustomEvent("kind", { detail: kind }));
  }

  /** Ask for the first trace before the models list has arrived, when the link names the
   * model and the text: load() takes its answer if it asks for the same thing (otherwise it is
   * dropped, and an error in it is load()'s to report). */
  prefetch() {
    const body = traceRequest(this.state);
    if (!body.model || !body.text) return;
    const early = { key: JSON.stringify(body), partial: null, onForward: null, whole: false };
    early.promise = this.socket.trace(body, (tr) => {
      early.partial = tr;
      if (early.onForward) early.onForward(tr);
    });
    early.promise.then(() => { early.whole = true; }, () => {});
    this.early = early;
  }

  /** Compute a fresh trace for the state's sentence; only the newest request wins. */
  async load() {
    const kind = kindOf(this.model);
    this.useKind(kind);
    if (kind !== "sequence") return this.loadKind(kind);
    const gen = ++this.loadGen;
    const body = traceRequest(this.state);
    if (!body.model) return;
    // a one-to-many model reads one input and runs as many steps as it is asked for: its own
    // number (the model file's "steps") where it has one, else ONE_TO_MANY_STEPS
    const m = this.model;
    if (m && m.setup === "one-to-many" && body.steps == null && m.steps == null) body.steps = ONE_TO_MANY_STEPS;
    if (!body.text) { this.setTrace(null, gen); return; }
    this.dispatchEvent(new Event("loading"));
    // The views draw the forward half as soon as it is in, and the gradients once BPTT is.
    let trace, viaSocket = false, drawn = false;
    const onForward = (partial) => {
      if (gen !== this.loadGen) return;
      partial.backwardPending = true;
      partial.flowRequested = body.flow;
      // After the messages already in: a backward half right behind (a cached trace) makes
      // one drawing of the whole trace instead of two.
      setTimeout(() => {
        if (gen !== this.loadGen || !partial.backwardPending) return;
        drawn = true;
        this.synced = false;           // (no live typing onto a trace still coming in)
        this.setTrace(partial, gen);
      }, 0);
    };
    try {
      try {
        await this.socket.connect();
        const early = this.early;
        this.early = null;
        const same = early && early.key === JSON.stringify(body);
        if (same) {
          early.onForward = onForward;
          if (early.partial && !early.whole) onForward(early.partial);
        }
        trace = await (same ? early.promise : this.socket.trace(body, onForward));
        viaSocket = true;
      } catch (wsErr) {
        if (gen !== this.loadGen) return;
        if (this.socket.isOpen) throw wsErr;            // a real error from the server
        trace = await fetchTrace(body);                  // no socket: plain POST
      }
    } catch (err) {
      // The model refused the sentence (or the server failed): nothing of the previous trace
      // may stay on screen under the new model's name.
      if (gen === this.loadGen) {
        this.setTrace(null, gen, err.message);
        this.showError(err.message);
      }
      return;
    }
    if (gen !== this.loadGen) return;
    this.synced = viaSocket;
    trace.flowRequested = body.flow;
    trace.backwardPending = false;
    if (drawn && this.trace === trace) this.complete(trace);
    else this.setTrace(trace, gen);
  }

  /** The backward half of the trace on screen is in: the views that show it draw it. */
  complete(trace) {
    for (const v of this.views) if (v.complete) v.complete(trace);
    this.dispatchEvent(new Event("completed"));
  }

  /** A trace of an encoder–decoder or a tree (one POST, kinds.js); only the newest request wins. */
  async loadKind(kind) {
    const gen = ++this.loadGen;
    this.synced = false;           // no live typing: a new text is a new trace
    if (!this.state.text) { this.setTrace(null, gen); return; }
    this.dispatchEvent(new Event("loading"));
    let trace;
    try {
      trace = await fetchKindTrace(kind, this.state);
    } catch (err) {
      if (gen === this.loadGen) {
        this.setTrace(null, gen, err.message);
        this.showError(err.message);
      }
      return;
    }
    this.setTrace(trace, gen);
  }

  /** Show a trace in every view; null empties them (`reason` says why, in the network's place). */
  setTrace(trace, gen, reason = "") {
    if (gen !== this.loadGen) return;
    this.trace = trace;
    this.loadedGen = gen;
    this.dispatchEvent(new Event("loaded"));
    const T = trace ? trace.steps.length : 0;
    this.player.setLength(T, !!trace && trace.direction === 1);   // a reverse cell runs T-1..0
    if (trace) {
      const patch = {};
      if (this.state.t > T - 1) patch.t = Math.max(0, T - 1);
      if (this.state.unit >= trace.hidden_size) patch.unit = 0;
      this.state.set(patch, "controller");
      for (const v of this.views) if (v.measure) v.measure();   // every read before any drawing
      for (const v of this.views) v.update(trace);
    } else {
      for (const v of this.views) v.reset(reason);
    }
  }

  /** Generate text (POST /api/sample's body and answer): over the socket, else a plain POST. */
  async sample(body) {
    try {
      await this.socket.connect();
      return await this.socket.sample(body);
    } catch (wsErr) {
      if (this.socket.isOpen) throw wsErr;            // a real error from the server
      return fetchSample(body);
    }
  }

  /** Can new characters typed at the end go through live feed frames instead of a new trace? */
  canFeed(newText) {
    const tr = this.trace, m = this.model;
    return !!(tr && m && this.synced && this.socket.isOpen && m.vocab_kind === "char" &&
      !["one-to-one", "one-to-many"].includes(m.setup) && this.loadedGen === this.loadGen &&
      newText.length > this.state.text.length && newText.startsWith(this.state.text));
  }

  feed(newText) {
    const suffix = newText.slice(this.state.text.length);
    this.state.set({ text: newText }, "live");
    this.socket.feed(suffix);
  }

  onLive(frame) {
    const tr = this.trace;
    if (!tr) return;
    const step = { ...frame };
    delete step.phase;
    delete step.live;
    const from = tr.steps.length;
    step.t = from;
    tr.steps.push(step);
    tr.tokens.push(step.token);
    tr.input_ids.push(step.input_index);
    if (tr.tokens_seen) tr.tokens_seen.push(step.seen_as);          // what the model read
    if (tr.tokens_unknown && step.unknown) tr.tokens_unknown.push(from);
    // every layer's ‖h_t‖ for the overview rows (live typing: unidirectional models only)
    if (tr.overview && step.h_norms) step.h_norms.forEach((dirs, l) => dirs.forEach((v, d) => tr.overview.h_norm[l][d].push(v)));
    delete step.h_norms;
    tr.live = true;
    this.player.setLength(tr.steps.length);
    for (const v of this.views) {
      if (v.append) v.append(tr, from); else v.update(tr);
    }
    this.state.set({ t: from, phase: "forward" }, "live");
    this.dispatchEvent(new Event("live"));
  }

  /** An error outside a trace request answers a feed (e.g. a control character): the live
   * steps no longer match the text, so recompute the sentence as a whole. */
  onSocketError(err) {
    this.showError(err.message);
    this.synced = false;
    this.load();
  }

  /** The Gradients view opened on a trace computed without its gradient-flow matrix. */
  ensureFlow() {
    if (this.kind === "sequence" && this.trace && !this.trace.flowRequested && this.state.view === "gradients") this.load();
  }

  /** Entering the backward phase of a live-extended trace needs a real BPTT pass. */
  ensureBackward() {
    if (this.trace && this.trace.live && this.state.phase === "backward" && !this.loadingBackward) {
      this.loadingBackward = true;
      this.load().finally(() => { this.loadingBackward = false; });
    }
  }
}
