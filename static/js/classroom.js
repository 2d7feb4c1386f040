// The classroom: a teacher opens a room; students who join follow the teacher's State live
// (every PROPS row without `follow: false`, so props added to state.js are followed too). A
// student detaches by exploring (or with the button) and re-follows with one click. Only the
// page holding the room's secret (sessionStorage, this tab) drives the room.
import { PROPS, State } from "./state.js";
import { RoomSocket } from "./room.js";

const $ = (id) => document.getElementById(id);
const SECRET_KEY = (code) => `unrolled-room-secret:${code}`;
const CODE = /^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$/;
const PUBLISH_GAP_MS = 40;      // at most 25 states a second (the server allows room_rate)
const TYPING_QUIET_MS = 400;    // the teacher's typing goes out once it pauses: one trace per word
const GESTURE_MS = 1500;        // a state change this soon after a student's click or key is theirs
const USER_SOURCES = new Set(["ui", "input", "live", "player"]);
const TYPING = new Set(["input", "live"]);
const LOOPBACK = ["localhost", "127.0.0.1", "[::1]"];   // a page at one of these is this machine's

export const followedNames = () => PROPS.filter((p) => p.follow !== false).map((p) => p.name);

/** The teacher's state, read through the PROPS table (a value that does not parse takes the
 * default, as from a link); only the names the teacher sent. */
export function patchFrom(remote) {
  const names = followedNames().filter((n) => Object.hasOwn(remote, n));
  const q = new URLSearchParams();
  for (const n of names) if (remote[n] != null) q.set(n, String(remote[n]));
  const parsed = State.fromQuery(q.toString());
  return Object.fromEntries(names.map((n) => [n, parsed[n]]));
}

export function normalCode(raw) {
  const code = String(raw || "").replace(/[\s-]/g, "").toUpperCase();
  return CODE.test(code) ? code : null;
}

export function bindClassroom(state, player) {
  const bar = $("room-bar"), status = $("room-status"), follow = $("room-follow");
  const dialog = $("room-dialog");
  let socket = null, role = null, following = true, latest = null, applying = false;
  let students = 0, lastGesture = -Infinity, lastSent = "", sendTimer = 0, lastSendAt = 0;

  const snapshot = () => Object.fromEntries(followedNames().map((n) => [n, state[n]]));

  function render(note = "") {
    const code = state.room;
    bar.hidden = !code;
    document.body.dataset.room = role || "";
    document.body.dataset.following = role === "student" && following ? "1" : "0";
    follow.hidden = role !== "student";
    $("room-show").hidden = role !== "teacher";
    $("room-teach").hidden = role === "student";
    $("room-open").hidden = role === "teacher";
    $("room-opened").hidden = role !== "teacher";
    $("room-join-section").hidden = role === "teacher";
    if (!code) return;
    const who = students === 1 ? "1 student" : `${students} students`;
    let text;
    if (role === "teacher") text = `Room ${code} · you are teaching · ${who} following`;
    else if (role === "student") text = following ? `Room ${code} · following the teacher`
      : `Room ${code} · exploring on your own`;
    else text = `Room ${code} · connecting…`;
    status.textContent = note ? `${text} · ${note}` : text;
    follow.textContent = following ? "Detach" : "Follow the teacher";
    follow.title = following ? "Explore on your own (the teacher's steps wait for you)"
      : "Back to the teacher's current step";
    $("room-students").textContent = `${who} following`;
  }

  function apply(remote) {
    if (!remote) return;
    const patch = patchFrom(remote);
    applying = true;
    try {
      player.pause();
      state.set(patch, "room");
    } finally {
      applying = false;
    }
  }

  // ---- the teacher's side --------------------------------------------------------------------
  function publishNow() {
    sendTimer = 0;
    const snap = snapshot();
    const text = JSON.stringify(snap);
    if (text === lastSent || !socket) return;
    if (socket.send({ type: "state", state: snap })) { lastSent = text; lastSendAt = performance.now(); }
  }

  function publishSoon(typing) {
    clearTimeout(sendTimer);
    const gap = Math.max(0, lastSendAt + PUBLISH_GAP_MS - performance.now());
    sendTimer = setTimeout(publishNow, typing ? TYPING_QUIET_MS : gap);
  }

  // ---- the socket ----------------------------------------------------------------------------
  function connect(code) {
    if (socket) socket.close();
    role = null; following = true; latest = null; lastSent = ""; students = 0;
    socket = new RoomSocket(code);
    socket.addEventListener("message", (e) => onMessage(e.detail));
    socket.addEventListener("status", (e) => {
      const s = e.detail.status;
      if (s === "reconnecting") render("the network dropped, reconnecting…");
      if (s === "ended") ended(e.detail.code === 4410 ? "The teacher closed the room." : null);
    });
    socket.secret = sessionStorage.getItem(SECRET_KEY(code));   // sent once the socket opens
    socket.open();
    render();
  }

  function onMessage(msg) {
    switch (msg.type) {
      case "room":
        students = msg.students;
        if (!socket.secret) role = "student";
        break;
      case "teaching":
        role = "teacher";
        lastSent = "";
        publishNow();            // the room takes this page's view at once
        break;
      case "state":
        latest = msg.state;
        if (role === "student" && following) apply(latest);
        break;
      case "presence":
        students = msg.students;
        break;
      case "closed":
        ended(msg.message);
        return;
      case "error":
        if (msg.status === 403 && socket.secret) {   // a stale secret: follow instead
          sessionStorage.removeItem(SECRET_KEY(socket.code));
          socket.secret = null;
          role = "student";
        } else if (msg.status === 404 || msg.status === 422 || msg.status === 429) {
          ended(msg.message);
          return;
        }
        break;
      default:
        return;
    }
    render();
  }

  function ended(message) {
    if (state.room) sessionStorage.removeItem(SECRET_KEY(state.room));
    if (socket) socket.close();
    socket = null;
    role = null;
    state.set({ room: "" });
    bar.hidden = false;
    status.textContent = message || "The room is no longer open.";
    follow.hidden = true;
    $("room-show").hidden = true;
    $("room-leave").hidden = true;
    setTimeout(() => { if (!state.room) bar.hidden = true; $("room-leave").hidden = false; }, 8000);
  }

  // ---- the student's side --------------------------------------------------------------------
  function setFollowing(on) {
    following = on;
    if (on) apply(latest);
    render();
  }

  const gesture = (ev) => {
    if (!bar.contains(ev.target) && !dialog.contains(ev.target)) lastGesture = performance.now();
  };
  document.addEventListener("pointerdown", gesture, true);
  document.addEventListener("keydown", gesture, true);

  state.addEventListener("change", (e) => {
    const { changed, source } = e.detail;
    if (changed.includes("room") && source !== "classroom") {
      const code = normalCode(state.room);
      if (code && (!socket || socket.code !== code)) connect(code);
      else if (!code && socket) { socket.close(); socket = null; role = null; render(); }
    }
    if (source === "room" || applying) return;
    const followedChange = changed.some((n) => followedNames().includes(n));
    if (!followedChange) return;
    if (role === "teacher") publishSoon(TYPING.has(source));
    else if (role === "student" && following && USER_SOURCES.has(source) &&
      performance.now() - lastGesture < GESTURE_MS) setFollowing(false);
  });

  // ---- the buttons ---------------------------------------------------------------------------
  follow.addEventListener("click", () => setFollowing(!following));
  // Leaving stops this page following (or driving) the room; the room stays open for the
  // others, and a teacher who joins it again with its code drives it again (the secret stays).
  $("room-leave").addEventListener("click", () => state.set({ room: "" }));
  $("room-show").addEventListener("click", () => openDialog());
  $("room-button").addEventListener("click", () => openDialog());
  $("room-dialog-close").addEventListener("click", () => dialog.close());
  $("room-open").addEventListener("click", openRoom);
  $("room-close").addEventListener("click", closeRoom);
  $("room-copy").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText($("room-link").textContent); $("room-copy").textContent = "Copied"; }
    catch { $("room-copy").textContent = "Select and copy"; }
  });
  $("room-join-form").addEventListener("submit", (ev) => { ev.preventDefault(); join($("room-join-code").value); });

  function showJoinError(msg) {
    const box = $("room-join-error");
    box.hidden = !msg;
    box.textContent = msg || "";
  }

  function openDialog() {
    showJoinError(null);
    if (role === "teacher") showRoom(state.room);
    if (!dialog.open) dialog.showModal();
  }

  function showRoom(code) {
    $("room-code").textContent = code;
    $("room-qr").src = `/api/rooms/${code}/qr.svg`;
    $("room-link").textContent = roomLink(code);
    // (a page opened at another address reached the server from outside: a proxy, say)
    $("room-local").hidden = !(document.body.dataset.localOnly === "1" && LOOPBACK.includes(location.hostname));
  }

  function roomLink(code) {
    const origin = document.body.dataset.shareOrigin && LOOPBACK.includes(location.hostname)
      ? document.body.dataset.shareOrigin : location.origin;
    return `${origin}/?room=${code}`;
  }

  async function openRoom() {
    $("room-open").disabled = true;
    try {
      const resp = await fetch("/api/rooms", { method: "POST" });
      const body = await resp.json();
      if (!resp.ok) throw new Error(body.detail || `${resp.status}`);
      sessionStorage.setItem(SECRET_KEY(body.code), body.secret);
      showRoom(body.code);
      state.set({ room: body.code });
    } catch (err) {
      showJoinError(`Could not open a room: ${err.message}`);
    } finally {
      $("room-open").disabled = false;
    }
  }

  async function closeRoom() {
    const code = state.room, secret = sessionStorage.getItem(SECRET_KEY(code));
    if (socket && role === "teacher") socket.send({ type: "close" });
    else if (secret) await fetch(`/api/rooms/${code}`, { method: "DELETE", headers: { "X-Room-Secret": secret } });
    dialog.close();
  }

  async function join(raw) {
    const code = normalCode(raw);
    if (!code) {
      showJoinError("A room code is 6 letters and digits (no 0, 1, I, L or O), e.g. K7M2QX.");
      return;
    }
    const resp = await fetch(`/api/rooms/${code}`);
    if (!resp.ok) {
      let detail = `${resp.status}`;
      try { detail = (await resp.json()).detail; } catch { /* not JSON */ }
      showJoinError(detail);
      return;
    }
    showJoinError(null);
    dialog.close();
    state.set({ room: code });
  }

  // A link with ?room=CODE joins at once (as the teacher, if this tab holds the secret).
  const code = normalCode(state.room);
  if (code) {
    if (code !== state.room) state.set({ room: code }, "classroom");
    connect(code);
  } else if (state.room) {
    state.set({ room: "" }, "classroom");
  }
  render();
  return { get role() { return role; }, get following() { return following; } };
}
