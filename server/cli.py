"""`unrolled` (or `python -m server`): serve the page and open it in a browser.

`unrolled train ...` trains a model from the command line instead (server/train_cli.py);
`unrolled export ...` exports a view as a file (server/export_cli.py).

Every option also reads from the environment (`UNROLLED_HOST`, `UNROLLED_PORT`, ...); the
command line wins. `--port 0` binds a free port and prints the real address.
"""

from __future__ import annotations

import argparse
import functools
import os
import socket
import sys
import threading
import time
import webbrowser

import uvicorn

from server.core.settings import Settings
from server.web.access_log import quiet_static
from server.web.network import lan_addresses
from server.web.slow_clients import HeaderTimeoutProtocol


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="unrolled",
        description="Watch a recurrent network think: serve Unrolled and open it in a browser.",
        epilog="unrolled train --help: train a model from the command line. "
        "unrolled export --help: a view as an offline HTML file, an image or a GIF.",
    )
    p.add_argument("--host", help="address to listen on (default 127.0.0.1; env UNROLLED_HOST)")
    p.add_argument("--port", type=int, help="port (default 8000; 0 = any free port)")
    p.add_argument("--workers", type=int, help="worker processes (default 1)")
    p.add_argument("--reload", action="store_true", default=None, help="restart on code changes")
    p.add_argument(
        "--no-browser",
        dest="open_browser",
        action="store_false",
        default=None,
        help="do not open a browser",
    )
    p.add_argument("--data-dir", help="where trained and imported models are kept")
    return p.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        k: v
        for k, v in {
            "host": args.host,
            "port": args.port,
            "workers": args.workers,
            "reload": args.reload,
            "open_browser": args.open_browser,
            "data_dir": args.data_dir,
        }.items()
        if v is not None
    }
    return Settings(**overrides)


def bind(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves so that port 0 becomes a known, real port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def page_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def open_when_ready(host: str, port: int, url: str, timeout: float = 30.0) -> None:
    """Open the browser once the port answers, from a thread so serving is not delayed."""

    def wait_then_open() -> None:
        target = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((target, port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        webbrowser.open(url)

    threading.Thread(target=wait_then_open, daemon=True).start()


def app_from_env():
    """The app factory uvicorn imports in each worker (--workers, --reload)."""
    from server.app import create_app

    quiet_static()
    return create_app(Settings(), warm=True)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:
        from server import train_cli

        train_cli.main(argv[1:])
        return
    if argv[:1] == ["export"]:
        from server import export_cli

        export_cli.main(argv[1:])
        return
    settings = settings_from(parse_args(argv))
    try:
        sock = bind(settings.host, settings.port)
    except OSError as e:
        sys.exit(f"unrolled: cannot listen on {settings.host}:{settings.port}: {e.strerror}")
    port = sock.getsockname()[1]
    settings = settings.model_copy(update={"port": port})
    # Worker processes build their own Settings from the environment: hand them ours.
    os.environ.update(
        {
            "UNROLLED_HOST": settings.host,
            "UNROLLED_PORT": str(port),
            "UNROLLED_DATA_DIR": str(settings.data_dir),
        }
    )
    url = page_url(settings.host, port)
    print(f"Unrolled is serving at {url}", flush=True)
    if settings.host in ("0.0.0.0", "::"):
        for address in lan_addresses():
            print(f"  students on this network open http://{address}:{port}/", flush=True)
    if settings.open_browser:
        open_when_ready(settings.host, port, url)

    try:
        _serve(settings, sock, port)
    except KeyboardInterrupt:
        pass  # Ctrl-C: uvicorn has shut down cleanly; no traceback for the teacher
    print("Unrolled stopped.", flush=True)


def _serve(settings: Settings, sock: socket.socket, port: int) -> None:
    common = dict(
        log_level="info",
        # headers sent a byte at a time (slowloris) time out (server.web.slow_clients)
        http=functools.partial(HeaderTimeoutProtocol, header_timeout=settings.header_timeout),
        ws_max_size=4 * settings.ws_max_message_bytes,  # hard cap; the app answers smaller ones
        timeout_graceful_shutdown=3,
        # Browsers ask for per-message deflate; compressing thousands of small frames per
        # trace cost more CPU than computing them (bench/classroom.py), and it is all loopback
        # or LAN traffic anyway.
        ws_per_message_deflate=False,
    )
    if settings.workers > 1 or settings.reload:
        # uvicorn forks workers itself; it binds the same port again after we let go.
        sock.close()
        uvicorn.run(
            "server.cli:app_from_env",
            factory=True,
            host=settings.host,
            port=port,
            workers=settings.workers,
            reload=settings.reload,
            **common,
        )
        return
    from server.app import create_app

    config = uvicorn.Config(create_app(settings, warm=True), **common)
    quiet_static()  # (after uvicorn has set its loggers up)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
