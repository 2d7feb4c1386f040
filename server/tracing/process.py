"""The program each trace process runs, started by server.tracing.pool.

It reads jobs from stdin, one JSON line each, and answers each on its own copy of stdout as a
length-prefixed pickle (the server and its own workers trust each other; nothing a user sends
is ever unpickled):

    in:  the Settings as one JSON line, once; then a length-prefixed pickle per job:
         (form, Prepared without its entry) — prepared once, in the server — or
         ("gradcheck", Prepared, GradcheckRequest), or ("live", Prepared, state, ids, ...)
    out: (True, Computed or the check's dict or the live steps) or (False, (message, status))
         per job, after one ("ready",) message

Anything the engine prints goes to stderr, never into the answers. Ctrl-C in the teacher's
terminal reaches every process of the group: the server stops its workers itself (it closes
their stdin), so they ignore SIGINT and print no traceback.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys

LENGTH = struct.Struct("<Q")
PIPE_BYTES = 1 << 20  # Linux's limit for an unprivileged process


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # print() in here goes to stderr
    try:  # a whole answer fits in the pipe: written at once, read in one go (Linux only)
        import fcntl

        fcntl.fcntl(out.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):
        pass
    jobs = sys.stdin.buffer

    from server.core.errors import ApiError
    from server.core.settings import Settings
    from server.models.registry import Registry
    from server.tracing import build as tracing
    from server.tracing import gradcheck

    settings = Settings.model_validate_json(jobs.readline())
    registry = Registry(settings.data_dir)

    def answer(value) -> None:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(LENGTH.pack(len(data)))
        out.write(data)
        out.flush()

    warm_up(registry, settings)
    answer(("ready",))
    while header := jobs.read(LENGTH.size):
        form, prepared, *rest = pickle.loads(jobs.read(LENGTH.unpack(header)[0]))
        try:
            if form == "gradcheck":  # (the check's request)
                answer((True, gradcheck.check(prepared.with_entry(registry), *rest)))
            elif form == "live":  # (state, ids, tokens, t0, top_k)
                entry = prepared.with_entry(registry).entry
                answer((True, tracing.live_steps(entry, *rest)))
            else:
                answer((True, tracing.build(prepared.with_entry(registry), settings, form)))
        except ApiError as e:
            answer((False, (str(e), e.status)))
        except Exception as e:  # noqa: BLE001 - reported to the server, which answers 500-free
            answer((False, (f"The trace could not be computed ({type(e).__name__}: {e}).", 500)))


def warm_up(registry, settings) -> None:
    """Trace each demo model's example once, in every form, before saying "ready": the first
    students of a class then do not pay for this process's first calls (about a third slower).
    """
    from server.core.errors import ApiError
    from server.core.schemas import TraceRequest
    from server.tracing import build as tracing
    from server.tracing.request import prepare

    for entry in registry.list():
        if entry.source != "demo":
            continue
        try:
            request = TraceRequest(model=entry.id, text=entry.meta.get("example") or "")
            prepared = prepare(request, registry, settings)
            for form in tracing.FORMS:
                tracing.build(prepared, settings, form)
        except (ApiError, ValueError):
            continue  # only a warm-up: the model's own traces will say what is wrong


if __name__ == "__main__":
    main()
