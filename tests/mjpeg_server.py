"""A bounded HTTP MJPEG server on 127.0.0.1 for tests: serves N frames, then closes the stream."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np


class MJPEGServer:
    """`with MJPEGServer(frames=40) as url:` — each client gets `frames` JPEGs at `fps`, then EOF.

    `stall_after=N`: the first `stalls` clients get N frames, then nothing while the socket stays
    open (until the server stops): a stalled stream.
    """

    def __init__(self, frames: int = 40, fps: float = 30.0, size=(320, 240), max_clients: int = 4,
                 stall_after: int | None = None, stalls: int = 1):
        self.frames, self.fps, self.size = frames, fps, size
        self.clients = 0
        self.stall_after, self.stalls = stall_after, stalls
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.clients += 1
                if server.clients > max_clients:
                    self.send_error(503)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                client = server.clients
                try:
                    for i in range(server.frames):
                        if i == server.stall_after and client <= server.stalls:
                            server.stopping.wait()       # socket open, no more frames
                            return
                        img = np.full((server.size[1], server.size[0], 3), 90, np.uint8)
                        cv2.circle(img, (40 + (i * 5) % (server.size[0] - 80), server.size[1] // 2), 30, (0, 0, 255), -1)
                        jpg = cv2.imencode(".jpg", img)[1].tobytes()
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                         + f"Content-Length: {len(jpg)}\r\n\r\n".encode() + jpg + b"\r\n")
                        time.sleep(1.0 / server.fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/stream.mjpg"

    def __exit__(self, *exc):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
