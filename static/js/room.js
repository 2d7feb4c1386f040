// The socket of a classroom room (/ws/room/{code}, contracts.md §14): connects, reconnects after a
// dropped network (not after a refusal or a closed room), and hands each message on.

const RETRY_MS = [500, 1000, 2000, 4000, 8000];
// 4000 + an HTTP status: the room refused us (4404 gone, 4422 bad code, 4429 full); 4410 closed.
const FINAL = (code) => code >= 4000 && code < 5000;

export class RoomSocket extends EventTarget {
  constructor(code) {
    super();
    this.code = code;
    this.ws = null;
    this.tries = 0;
    this.stopped = false;
    this.secret = null;     // set by teach(): sent again after a reconnect
  }

  get url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}/ws/room/${encodeURIComponent(this.code)}`;
  }

  open() {
    if (this.stopped) return;
    const ws = this.ws = new WebSocket(this.url);
    ws.addEventListener("open", () => {
      this.tries = 0;
      if (this.secret) this.send({ type: "teach", secret: this.secret });
      this.emit("status", { status: "open" });
    });
    ws.addEventListener("message", (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      this.emit("message", msg);
    });
    ws.addEventListener("close", (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (FINAL(ev.code)) {
        this.stopped = true;
        this.emit("status", { status: "ended", code: ev.code });
        return;
      }
      const wait = RETRY_MS[Math.min(this.tries++, RETRY_MS.length - 1)];
      this.emit("status", { status: "reconnecting", wait });
      setTimeout(() => this.open(), wait);
    });
  }

  teach(secret) {
    this.secret = secret;
    this.send({ type: "teach", secret });
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) { this.ws.send(JSON.stringify(msg)); return true; }
    return false;
  }

  close() {
    this.stopped = true;
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
}
