"""`edgeseg web`: serve the built browser page (web/dist) and a model on localhost.

The page is cross-origin isolated (COOP/COEP headers), so onnxruntime-web may use WASM threads.
The model is served at /model.onnx from the file given (default: the bundled model); the page
reads its edgeseg metadata from that file, as the Python runtime does.
"""
from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

from .errors import ConfigError, EdgeSegError, ModelError
from .models import DEFAULT_MODEL

DIST = Path(__file__).resolve().parents[1] / "web" / "dist"
BUILD_HINT = "build it first: cd web && npm ci && npm run build"
HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-cache",
}
TYPES = {".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
         ".onnx": "application/octet-stream"}


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files from `directory`, /model.onnx from `model`, isolation headers on every reply."""
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **TYPES}

    def __init__(self, *args, model: Path, directory: str, **kwargs):
        self.model = model
        super().__init__(*args, directory=directory, **kwargs)

    def translate_path(self, path: str) -> str:
        if path.split("?", 1)[0] == "/model.onnx":
            return str(self.model)
        return super().translate_path(path)

    def end_headers(self) -> None:
        for k, v in HEADERS.items():
            self.send_header(k, v)
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # quiet: the CLI prints the URL only
        pass


def make_server(root: str | Path | None = None, model: str | Path | None = None, host: str = "127.0.0.1",
                port: int = 8000) -> http.server.ThreadingHTTPServer:
    """A server for the page in `root` (default: web/dist) and `model` (default: the bundled model).

    Raises:
        ConfigError: the page is not built (says how to build it).
        ModelError: the model file does not exist.
        EdgeSegError: the port cannot be opened.
    """
    root = Path(root) if root else DIST
    if not (root / "index.html").is_file():
        raise ConfigError(f"no built page at {root}; {BUILD_HINT}")
    model = Path(model).expanduser() if model else DEFAULT_MODEL
    if not model.is_file():
        raise ModelError(f"model file {model} not found; pass --model PATH to an .onnx file")
    handler = functools.partial(Handler, model=model.resolve(), directory=str(root))
    try:
        return http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise EdgeSegError(f"cannot serve on {host}:{port} ({exc.strerror}); pass --port 0 for a free port") from None


def url_of(server: http.server.ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}/"


def serve_in_thread(server: http.server.ThreadingHTTPServer) -> threading.Thread:
    """Run `server` on a daemon thread (for tests); stop it with server.shutdown()."""
    thread = threading.Thread(target=server.serve_forever, name="edgeseg-web", daemon=True)
    thread.start()
    return thread
