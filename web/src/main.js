// The page: camera in, effect out, with an FPS and per-stage readout. The model and its metadata come
// from one ONNX file (default: model.onnx, served by `edgeseg web`). URL parameters: backend=auto|wasm|webgpu,
// threads=N, compositor=webgl2|2d, model=URL, width=W&height=H (camera size to ask for), loop=camera|free (free: process
// frames back to back, for measuring), effect=blur|replace|mask|none.
// window.edgeseg is the hook the browser test reads (state, meta, stats(), snapshot()).
import { readMeta } from './meta.js';
import { Segmenter, TemporalSmoother, feather } from './segment.js';
import { CanvasCompositor, COMPOSE_DEFAULTS, EFFECTS, GlCompositor, blurBehind } from './compose.js';

const params = new URLSearchParams(location.search);
const STAGES = ['capture', 'preprocess', 'inference', 'postprocess', 'composite'];
const WINDOW = 120;                       // frames the readout's medians cover

const hook = window.edgeseg = { state: 'loading', error: null, meta: null, backend: null, frames: 0 };
const $ = (id) => document.getElementById(id);
const options = { ...COMPOSE_DEFAULTS, refine: true, temporal: true, effect: params.get('effect') || 'blur' };

function setStatus(text, error = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', error);
}

async function loadOrt() {
  const wanted = params.get('backend') || 'auto';
  let gpu = false;
  if (wanted !== 'wasm' && navigator.gpu) {
    gpu = !!(await navigator.gpu.requestAdapter().catch(() => null));
  }
  if (wanted === 'webgpu' && !gpu) throw new Error('backend=webgpu asked for, but this browser has no WebGPU adapter; drop ?backend=webgpu');
  const ort = gpu ? await import('onnxruntime-web/webgpu') : await import('onnxruntime-web/wasm');
  ort.env.wasm.wasmPaths = new URL('ort/', document.baseURI).href;
  const threads = Number(params.get('threads')) || (crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1);
  ort.env.wasm.numThreads = threads;
  return { ort, gpu, threads };
}

async function loadModel(ort, gpu) {
  const url = params.get('model') || 'model.onnx';
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`model ${url}: HTTP ${resp.status}; serve the page with \`edgeseg web\``);
  const bytes = new Uint8Array(await resp.arrayBuffer());
  const meta = readMeta(bytes);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: gpu ? ['webgpu', 'wasm'] : ['wasm'], graphOptimizationLevel: 'all',
  });
  const shape = session.inputMetadata?.[0]?.shape;
  const h = shape?.[meta.layout === 'NCHW' ? 2 : 1], w = shape?.[meta.layout === 'NCHW' ? 3 : 2];
  const staticHW = Number.isInteger(h) && Number.isInteger(w) ? [h, w] : null;
  return { url, bytes: bytes.length, meta, session, staticHW };
}

async function openCamera() {
  const width = Number(params.get('width')) || 1280, height = Number(params.get('height')) || 720;
  if (!navigator.mediaDevices?.getUserMedia) throw new Error('no camera API here: open the page over http://localhost or https');
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: width }, height: { ideal: height } }, audio: false });
  } catch (e) {
    throw new Error(`camera not available (${e.name}: ${e.message}); allow camera access and reload`);
  }
  const video = $('camera');
  video.srcObject = stream;
  await video.play();
  while (!video.videoWidth) await new Promise((r) => setTimeout(r, 10));
  return video;
}

class Stats {
  constructor() { this.stage = Object.fromEntries([...STAGES, 'total'].map((k) => [k, []])); this.done = []; }
  add(timings, total) {
    for (const [k, v] of Object.entries({ ...timings, total })) {
      const a = this.stage[k]; a.push(v); if (a.length > WINDOW) a.shift();
    }
    this.done.push(performance.now()); if (this.done.length > WINDOW) this.done.shift();
  }
  fps() {
    const d = this.done, now = performance.now(), recent = d.filter((t) => now - t < 2000);
    return recent.length > 1 ? (recent.length - 1) * 1000 / (recent[recent.length - 1] - recent[0]) : 0;
  }
  median(k) {
    const a = [...this.stage[k]].sort((x, y) => x - y);
    return a.length ? a[a.length >> 1] : NaN;
  }
  summary() {
    return { fps: this.fps(), frames: hook.frames, ms: Object.fromEntries(Object.keys(this.stage).map((k) => [k, this.median(k)])) };
  }
}

function renderReadout(stats, info) {
  const s = stats.summary(), f = (v) => (Number.isFinite(v) ? v.toFixed(1) : '–');
  const rows = [['FPS', s.fps.toFixed(1), 'fps'], ...STAGES.map((k) => [`${k} ms`, f(s.ms[k])]), ['frame ms', f(s.ms.total)],
    ['frame', info.frame], ['model input', info.canvas], ['backend', info.backend]];
  $('readout').tBodies[0].innerHTML = rows.map(([k, v, c]) => `<tr class="${c || ''}"><td>${k}</td><td>${v}</td></tr>`).join('');
}

function bindControls(smoother) {
  const form = $('controls');
  form.effect.value = EFFECTS.includes(options.effect) ? options.effect : 'blur';
  const sync = () => {
    options.effect = form.effect.value;
    options.blurStrength = Number(form.blurStrength.value);
    options.featherPx = Number(form.featherPx.value);
    options.refine = form.refine.checked;
    if (options.temporal && !form.temporal.checked) smoother.reset();
    options.temporal = form.temporal.checked;
    for (const out of form.querySelectorAll('output')) out.textContent = out.previousElementSibling.value;
  };
  form.addEventListener('input', sync);
  form.background.addEventListener('change', async () => {
    const file = form.background.files[0];
    if (file) { options.background = await createImageBitmap(file); form.effect.value = 'replace'; sync(); }
  });
  sync();
  // the test hook may change options (e.g. refine and temporal off) the same way the form does
  hook.setOptions = (o) => {
    for (const [k, v] of Object.entries(o)) {
      if (form[k]?.type === 'checkbox') form[k].checked = !!v; else if (form[k]) form[k].value = v;
    }
    sync();
  };
}

function base64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function main() {
  const { ort, gpu, threads } = await loadOrt();
  const model = await loadModel(ort, gpu);
  const backend = gpu ? 'webgpu' : `wasm (SIMD, ${threads} thread${threads > 1 ? 's' : ''}${crossOriginIsolated ? ', isolated' : ''})`;
  Object.assign(hook, { meta: model.meta, backend, threads, crossOriginIsolated });
  $('model').textContent = `${model.url} · ${(model.bytes / 1024).toFixed(0)} KB · ${model.meta.name} ${model.meta.precision} · ` +
    `base ${model.meta.input_hw.join('×')}${model.meta.adaptive ? ' (adaptive)' : ''} · threshold ${model.meta.threshold}`;
  const segmenter = new Segmenter(ort, model.session, model.meta, model.staticHW);
  const video = await openCamera();
  const smoother = new TemporalSmoother();
  const stats = new Stats();
  bindControls(smoother);
  const out = $('output');
  const compositor = (params.get('compositor') !== '2d' && GlCompositor.create(out)) || new CanvasCompositor(out);
  hook.compositor = compositor.name;
  const frameCanvas = new OffscreenCanvas(1, 1), frameCtx = frameCanvas.getContext('2d', { willReadFrequently: true });
  let last = null, info = { frame: '', canvas: '', backend: `${backend}, ${compositor.name}` };
  hook.stats = () => stats.summary();
  hook.snapshot = () => last && {
    width: last.frame.width, height: last.frame.height, frame: base64(last.frame.data),
    probWidth: last.prob.width, probHeight: last.prob.height,
    prob: base64(new Uint8Array(last.prob.data.buffer, last.prob.data.byteOffset, last.prob.data.byteLength)),
    letterbox: last.letterbox, options: { ...last.options, background: undefined },
  };

  async function step() {
    const t0 = performance.now(), w = video.videoWidth, h = video.videoHeight;
    if (frameCanvas.width !== w || frameCanvas.height !== h) { frameCanvas.width = w; frameCanvas.height = h; }
    if (out.width !== w || out.height !== h) { out.width = w; out.height = h; }
    frameCtx.drawImage(video, 0, 0, w, h);
    const frame = { data: frameCtx.getImageData(0, 0, w, h).data, width: w, height: h, channels: 4 };
    const timings = { capture: performance.now() - t0 };
    const opts = { ...options };
    if (opts.effect === 'none') {
      compositor.draw('none', frame, frameCanvas);
    } else {
      const res = await segmenter.segment(frame, { refine: opts.refine }, timings, opts.temporal ? smoother : null);
      const tp = performance.now();
      const mask = opts.featherPx ? feather(res.mask, opts.featherPx * Math.max(res.mask.width, res.mask.height) / 1280) : res.mask;
      timings.postprocess += performance.now() - tp;
      const tc = performance.now();
      const bg = opts.effect === 'blur' ? blurBehind(frame, res.small, mask, opts.blurStrength, opts.blurSize)
        : opts.effect === 'replace' ? opts.background : null;
      compositor.draw(opts.effect, frame, frameCanvas, mask, bg);
      timings.composite = performance.now() - tc;
      last = { frame, prob: res.prob, letterbox: res.letterbox, options: opts };
      info.canvas = res.letterbox.canvas.join('×');
    }
    info.frame = `${w}×${h}`;
    hook.frames += 1;
    stats.add(timings, performance.now() - t0);
  }

  const free = params.get('loop') === 'free';
  // free: yield to the event loop through a message (a chain of setTimeout(0) is clamped to 4 ms)
  const channel = new MessageChannel();
  const nextFrame = () => new Promise((resolve) => {
    if (free) { channel.port1.onmessage = resolve; channel.port2.postMessage(0); } else video.requestVideoFrameCallback(resolve);
  });
  setInterval(() => renderReadout(stats, info), 250);
  hook.state = 'running';
  setStatus(`running on ${backend}`);
  for (;;) {
    await nextFrame();
    await step();
  }
}

main().catch((e) => {
  hook.state = 'error';
  hook.error = String(e && e.message || e);
  setStatus(`error: ${hook.error}`, true);
  console.error(e);
});
