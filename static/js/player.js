// The player walks a position 0..2T-1: the forward pass (t = 0..T-1), then the backward pass
// (t = T-1..0). A reverse direction (`reverse`) computes the other way round: its forward pass
// runs t = T-1..0 and its BPTT t = 0..T-1. A generation counter stops stale requestAnimationFrame loops
// (TensorFlow Playground's trick): every play/pause/seek bumps it.
// While a view steps through a sequence of its own (Generate's tokens), `delegate()` answers
// that view and the player's buttons and keys (step, first, end, toggle) drive it instead.

export function toPosition(t, phase, T, reverse = false) {
  const k = reverse ? T - 1 - t : t;    // the step's place in its direction's own time
  return phase === "backward" ? 2 * T - 1 - k : k;
}

export function fromPosition(pos, T, reverse = false) {
  const phase = pos < T ? "forward" : "backward";
  const k = pos < T ? pos : 2 * T - 1 - pos;
  return { t: reverse ? T - 1 - k : k, phase };
}

export class Player extends EventTarget {
  constructor(state) {
    super();
    this.state = state;
    this.T = 0;
    this.reverse = false;          // the shown cell is a reverse direction (setLength)
    this.playing = false;
    this.generation = 0;
    this.delegate = () => null;   // a view with stepBy(d), first(), end(), toggle(), or null
  }

  get position() {
    return toPosition(this.state.t, this.state.phase, this.T, this.reverse);
  }

  get last() {
    return Math.max(0, 2 * this.T - 1);
  }

  setLength(T, reverse = this.reverse) {
    this.T = T;
    this.reverse = reverse;
    if (T === 0) { this.pause(); return; }
    if (this.state.t > T - 1) this.state.set({ t: T - 1 });
  }

  seek(pos, source = "player") {
    if (this.T === 0) return;
    pos = Math.max(0, Math.min(this.last, pos));
    this.state.set(fromPosition(pos, this.T, this.reverse), source);
  }

  step(delta) {
    const other = this.delegate();
    if (other) { other.stepBy(delta); return; }
    this.pause();
    this.seek(this.position + delta);
  }

  first() {
    const other = this.delegate();
    if (other) { other.first(); return; }
    this.pause();
    this.seek(0);
  }

  end() {
    const other = this.delegate();
    if (other) { other.end(); return; }
    this.pause();
    this.seek(this.last);
  }

  toggle() {
    const other = this.delegate();
    if (other) { other.toggle(); return; }
    if (this.playing) this.pause(); else this.play();
  }

  play() {
    if (this.T === 0) return;
    if (this.position >= this.last) this.seek(0);
    this.playing = true;
    const gen = ++this.generation;
    this.dispatchEvent(new Event("playstate"));
    let lastTime = null;
    let carry = 0;
    const tick = (now) => {
      if (gen !== this.generation) return;   // a newer play/pause owns the loop now
      if (lastTime != null) {
        carry += ((now - lastTime) / 1000) * this.state.speed;
        const whole = Math.floor(carry);
        if (whole > 0) {
          carry -= whole;
          const next = Math.min(this.last, this.position + whole);
          this.seek(next);
          if (next >= this.last) { this.pause(); return; }
        }
      }
      lastTime = now;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  pause() {
    this.generation++;
    if (this.playing) {
      this.playing = false;
      this.dispatchEvent(new Event("playstate"));
    }
  }
}
