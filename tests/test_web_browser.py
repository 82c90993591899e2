"""The browser page (web/) in a real headless Chromium, fed a real clip through a fake camera.

Its mask for a frame must match the Python runtime's mask for the very frame the page used
(refinement and temporal smoothing off on both sides: the model path), and its FPS is recorded
next to the Python pipeline's on the same frames. Needs Chromium (apt-get install chromium), the
`web` extra (playwright, driving the system Chromium; it downloads nothing) and the built page
(cd web && npm ci && npm run build); `.ci/run` installs all three. Without them the tests skip,
saying which is missing, except under CI=true, where they fail instead.

EDGESEG_UPDATE_SCREENSHOT=1 also saves the page's screenshot to docs/web-screenshot.png (the
fake camera then shows the bundled demo image, never the shared data).
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.request
import shutil
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgeseg import Pipeline, PipelineOptions, Segmenter, SegmenterOptions
from edgeseg.errors import ConfigError
from edgeseg.models import DEFAULT_MODEL, list_models
from edgeseg.preprocess import choose_canvas, letterbox_geometry
from edgeseg.session import Session
from edgeseg.sources import DemoSource
from edgeseg.web import DIST, make_server, serve_in_thread, url_of

from tests.conftest import REPO, shared_or_skip

CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
SCREENSHOT = REPO / "docs" / "web-screenshot.png"


def chromium_or_skip() -> str:
    """The Chromium binary, with everything else the page needs; skips (fails under CI) if missing."""
    missing = []
    binary = os.environ.get("EDGESEG_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        missing.append("no Chromium (apt-get install -y chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("no playwright (pip install -c constraints.txt -e '.[web]')")
    if not (DIST / "index.html").is_file():
        missing.append(f"the page is not built ({DIST}: cd web && npm ci && npm run build)")
    if missing:
        reason = "browser test cannot run: " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason + " (.ci/run installs these)")
        pytest.skip(reason)
    return binary


def write_y4m(frames: list[np.ndarray], path: Path, fps: int = 30) -> Path:
    """BGR frames -> an uncompressed 4:2:0 .y4m file, what Chromium's fake camera plays (in a loop)."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


def clip_frames(path: Path, size: tuple[int, int], count: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < count:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    cap.release()
    assert frames, f"no frames decoded from {path}"
    return frames


@pytest.fixture(scope="module")
def page_url():
    chromium_or_skip()
    server = make_server(port=0)
    serve_in_thread(server)
    yield url_of(server)
    server.shutdown()
    server.server_close()


class Browser:
    """Headless Chromium with `y4m` as its camera, on the page at `url`."""

    def __init__(self, url: str, y4m: Path, viewport=(1280, 800)):
        from playwright.sync_api import sync_playwright
        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(
            executable_path=chromium_or_skip(), headless=True,
            args=CHROMIUM_FLAGS + [f"--use-file-for-fake-video-capture={y4m}"])
        self.page = self.browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.goto(url)
        self.page.wait_for_function("window.edgeseg && window.edgeseg.state !== 'loading'", timeout=60_000)
        state = self.page.evaluate("[edgeseg.state, edgeseg.error]")
        assert state[0] == "running", f"page failed: {state[1]}; console: {self.console[-5:]}"

    def hook(self, expr: str):
        return self.page.evaluate(expr)

    def frames_after(self, n: int, timeout: float = 60.0) -> None:
        """Wait until the page has processed n more frames."""
        target = self.hook("edgeseg.frames") + n
        self.page.wait_for_function(f"edgeseg.frames >= {target}", timeout=timeout * 1000)

    def close(self) -> None:
        self.browser.close()
        self._pw.stop()


def decode_snapshot(snap: dict) -> tuple[np.ndarray, np.ndarray]:
    """The page's frame (BGR uint8) and its raw model output cut out of the letterbox (float32)."""
    rgba = np.frombuffer(base64.b64decode(snap["frame"]), np.uint8).reshape(snap["height"], snap["width"], 4)
    prob = np.frombuffer(base64.b64decode(snap["prob"]), np.float32).reshape(snap["probHeight"], snap["probWidth"])
    return cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGR), prob


def to_frame_mask(prob: np.ndarray, frame_hw: tuple[int, int], work_size: int = 480) -> np.ndarray:
    """A model-resolution mask up to the frame, through the working size, as Segmenter.segment (refine off)."""
    fh, fw = frame_hw
    s = min(1.0, work_size / max(fh, fw))
    work = cv2.resize(prob, (max(1, round(fw * s)), max(1, round(fh * s))), interpolation=cv2.INTER_LINEAR)
    work = np.clip(work, 0.0, 1.0)
    return work if work.shape == (fh, fw) else cv2.resize(work, (fw, fh), interpolation=cv2.INTER_LINEAR)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def python_pipeline_ms(frames: list[np.ndarray], rounds: int = 3) -> float:
    """Median ms per frame of the default Python pipeline (blur, refinement, temporal) on these frames."""
    with Pipeline(PipelineOptions(segmenter=SegmenterOptions(model_path=DEFAULT_MODEL, provider="cpu"))) as pipe:
        for f in frames[:5]:
            pipe.process(f)
        times = []
        for _ in range(rounds):
            for f in frames:
                t = time.perf_counter()
                pipe.process(f)
                times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def test_server_isolates_the_page_and_serves_the_bundled_model(tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><title>page</title>")
    server = make_server(tmp_path, port=0)
    serve_in_thread(server)
    try:
        with urllib.request.urlopen(url_of(server)) as page:
            headers = page.headers
            assert b"<title>page</title>" in page.read()
        with urllib.request.urlopen(url_of(server) + "model.onnx") as model:
            assert model.read() == DEFAULT_MODEL.read_bytes()
    finally:
        server.shutdown()
        server.server_close()
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"


def test_server_without_a_built_page_says_how_to_build_it(tmp_path):
    with pytest.raises(ConfigError, match="npm run build"):
        make_server(tmp_path / "nowhere", port=0)


NODE_PORT = """
import { readFileSync } from 'node:fs';
import { readMeta } from './web/src/meta.js';
import { chooseCanvas, letterboxGeometry } from './web/src/segment.js';
const { models, frames, base } = JSON.parse(readFileSync(0, 'utf8'));
const canvases = frames.map((hw) => chooseCanvas(hw, base, true, 16));
console.log(JSON.stringify({
  meta: Object.fromEntries(models.map((m) => [m, readMeta(readFileSync(m))])),
  canvases, letterboxes: frames.map((hw, i) => letterboxGeometry(hw, canvases[i])),
}));
"""


def test_page_reads_the_metadata_and_picks_the_canvas_as_python_does():
    node = shutil.which("node")
    if not node:
        pytest.skip("no Node.js (the page's modules run in it)")
    models = [str(p) for p in list_models()]
    frames = [[h, w] for h in (90, 144, 240, 360, 479, 540, 720, 1080, 1920) for w in (97, 256, 480, 640, 768, 1280, 1919)]
    base = list(Session(DEFAULT_MODEL, "cpu").meta.input_hw)
    job = {"models": models, "frames": frames, "base": base}
    res = subprocess.run([node, "--input-type=module", "-e", NODE_PORT], input=json.dumps(job), cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    for m in models:
        assert got["meta"][m] == json.loads(Session(m, "cpu").meta.to_json()), m
    for hw, canvas, lb in zip(frames, got["canvases"], got["letterboxes"]):
        assert tuple(canvas) == choose_canvas(tuple(hw), tuple(base), True, 16), hw
        py = letterbox_geometry(tuple(hw), tuple(canvas))
        assert (lb["top"], lb["left"], lb["height"], lb["width"]) == (py.top, py.left, py.height, py.width), hw


def test_page_composites_through_the_same_alpha_table_as_python():
    from edgeseg.compose import ALPHA_LUT
    node = shutil.which("node")
    if not node:
        pytest.skip("no Node.js (the page's modules run in it)")
    script = "import('./web/src/compose.js').then((m) => console.log(JSON.stringify(Array.from(m.ALPHA_LUT))))"
    res = subprocess.run([node, "-e", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == ALPHA_LUT.tolist()


@pytest.mark.slow
@pytest.mark.parametrize("size", [(640, 360), (1280, 720)], ids=["640x360", "1280x720"])
def test_page_mask_matches_python_and_fps_is_recorded(page_url, tmp_path, size):
    clip = shared_or_skip("videos", "desk.mp4")
    frames = clip_frames(clip, size, 30)
    y4m = write_y4m(frames, tmp_path / "camera.y4m")
    browser = Browser(page_url + "?loop=free", y4m)
    try:
        browser.frames_after(10)                     # warm-up, default effect: blur + refinement + temporal
        time.sleep(3.0)
        stats = browser.hook("edgeseg.stats()")
        backend = browser.hook("edgeseg.backend")
        page_meta = browser.hook("edgeseg.meta")
        browser.hook("edgeseg.setOptions({refine: false, temporal: false})")
        browser.frames_after(3)
        snap = browser.hook("edgeseg.snapshot()")
    finally:
        browser.close()
    assert snap["options"]["refine"] is False and snap["options"]["temporal"] is False
    frame, prob = decode_snapshot(snap)
    assert frame.shape[:2] == (size[1], size[0])
    with Segmenter(SegmenterOptions(model_path=DEFAULT_MODEL, provider="cpu", refine=False)) as seg:
        assert page_meta == json.loads(seg.meta.to_json()), "the page read other metadata than Python"
        py_mask = seg.segment(frame).mask
        threshold = seg.meta.threshold
    web_mask = to_frame_mask(prob, frame.shape[:2])
    person_iou = iou(web_mask >= threshold, py_mask >= threshold)
    py_ms = python_pipeline_ms(frames)
    print(f"\nweb {size[0]}x{size[1]} on {backend}: person IoU vs Python {person_iou:.4f} "
          f"(mean |diff| {np.abs(web_mask - py_mask).mean():.5f}); page {stats['fps']:.1f} FPS, "
          f"{stats['ms']['total']:.1f} ms/frame median (" +
          ", ".join(f"{k} {v:.1f}" for k, v in stats["ms"].items() if k != "total") +
          f"); Python pipeline {py_ms:.2f} ms/frame ({1000 / py_ms:.0f} FPS), same frames, same process")
    assert (py_mask >= threshold).mean() > 0.05, "the clip should show a person"
    assert person_iou >= 0.99
    assert stats["fps"] > 0 and stats["frames"] >= 10


@pytest.mark.slow
def test_page_screenshot_shows_the_blurred_demo(page_url, tmp_path):
    demo = DemoSource(size=(960, 540), frames=60)
    frames = [demo.read() for _ in range(60)]
    y4m = write_y4m(frames, tmp_path / "demo.y4m")
    browser = Browser(page_url, y4m, viewport=(1320, 600))
    try:
        browser.frames_after(20)
        time.sleep(1.0)                               # let the readout refresh
        shot = tmp_path / "web.png"
        browser.page.screenshot(path=str(shot))
        readout = browser.page.inner_text("#readout")
    finally:
        browser.close()
    image = cv2.imread(str(shot))
    assert image is not None and image.std() > 10, "the screenshot is blank"
    assert "FPS" in readout and "inference ms" in readout
    if os.environ.get("EDGESEG_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        tmp = SCREENSHOT.with_suffix(".partial.png")
        shutil.copyfile(shot, tmp)
        tmp.replace(SCREENSHOT)


SMOOTHER_PORT = """
import { TemporalSmoother } from './web/src/segment.js';
let text = '';
process.stdin.on('data', (d) => { text += d; });
process.stdin.on('end', () => {
  const job = JSON.parse(text), s = new TemporalSmoother();
  let out;
  for (const step of job.steps) {
    const mask = { width: job.w, height: job.h, channels: 1, data: Float32Array.from(step.mask) };
    const frame = { width: job.w, height: job.h, channels: 4, data: Uint8ClampedArray.from(step.rgba) };
    out = s.apply(mask, frame);
  }
  console.log(JSON.stringify(Array.from(out.data)));
});
"""


def test_page_smooths_over_time_as_python_does():
    """The page's TemporalSmoother, guided by the frame, ends where Python's does on the same frames."""
    from edgeseg.postprocess import TemporalSmoother
    node = shutil.which("node")
    if not node:
        pytest.skip("no Node.js (the page's modules run in it)")
    rng = np.random.default_rng(3)
    h, w = 36, 52
    yy, xx = np.mgrid[:h, :w]
    smoother, steps = TemporalSmoother(), []
    for t in range(6):
        bgr = np.full((h, w, 3), 60, np.uint8)
        inside = (yy - 18) ** 2 + (xx - 20 - 2 * t) ** 2 < 12 ** 2          # a person moving right
        bgr[inside] = rng.integers(0, 256, (int(inside.sum()), 3), np.uint8)
        mask = np.clip(inside + rng.normal(0, 0.1, (h, w)), 0, 1).astype(np.float32)
        py = smoother(mask, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
        rgba = np.concatenate([bgr[..., ::-1], np.full((h, w, 1), 255, np.uint8)], axis=2)
        steps.append({"mask": mask.ravel().tolist(), "rgba": rgba.ravel().tolist()})
    res = subprocess.run([node, "--input-type=module", "-e", SMOOTHER_PORT], input=json.dumps({"w": w, "h": h, "steps": steps}),
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    web = np.array(json.loads(res.stdout), np.float32).reshape(h, w)
    assert np.abs(web - py).max() < 0.05 and np.abs(web - py).mean() < 0.005
