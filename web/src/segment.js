// Frame -> person mask, step for step as edgeseg/segmenter.py, preprocess.py and postprocess.py do it:
// scale to the working size, adaptive canvas, letterbox, RGB/255 tensor, model, cut the mask back
// out, temporal smoothing at model resolution, bilinear up to the working size, guided filter.
import { boxFilter, grayFloat, halve, image, luma, pyRound, reflect101, resizeFast, resizeLinear } from './imaging.js';

/** edgeseg.preprocess.choose_canvas */
export function chooseCanvas([fh, fw], [bh, bw], adaptive, multiple = 16) {
  if (!adaptive) return [bh, bw];
  const area = bh * bw, aspect = Math.min(Math.max(fw / fh, 0.25), 4.0);
  const w = Math.max(multiple, Math.trunc(pyRound(Math.sqrt(area * aspect) / multiple)) * multiple);
  const h = Math.max(multiple, Math.trunc(pyRound(Math.sqrt(area / aspect) / multiple)) * multiple);
  return [h, w];
}

/** edgeseg.preprocess.letterbox_geometry: scale to fit, centred. */
export function letterboxGeometry([fh, fw], [ch, cw]) {
  const scale = Math.min(ch / fh, cw / fw);
  const h = Math.min(ch, Math.max(1, pyRound(fh * scale))), w = Math.min(cw, Math.max(1, pyRound(fw * scale)));
  return { canvas: [ch, cw], top: (ch - h) >> 1, left: (cw - w) >> 1, height: h, width: w };
}

/** The model input tensor's data for an RGBA image letterboxed into lb (x/255, then (x - mean) / std). */
export function toTensor(img, lb, meta, out) {
  const [ch, cw] = lb.canvas, n = ch * cw;
  if (!out || out.length !== 3 * n) out = new Float32Array(3 * n); else out.fill(0);
  const order = meta.colour === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  const [s0, s1, s2] = order.map((_, k) => 1 / 255 / meta.std[k]);
  const [m0, m1, m2] = order.map((_, k) => -meta.mean[k] / meta.std[k]);
  const [c0, c1, c2] = order;
  // channel k of pixel i sits at k·n + i (NCHW) or 3·i + k (NHWC)
  const [step, plane] = meta.layout === 'NCHW' ? [1, n] : [3, 1];
  if (m0 || m1 || m2) {                           // the padding is zero before normalisation, as in Python
    for (let i = 0; i < n; i++) { out[i * step] = m0; out[i * step + plane] = m1; out[i * step + 2 * plane] = m2; }
  }
  const s = img.data;
  for (let y = 0; y < lb.height; y++) {
    let j = y * img.width * 4, i = ((y + lb.top) * cw + lb.left) * step;
    for (let x = 0; x < lb.width; x++, j += 4, i += step) {
      out[i] = s[j + c0] * s0 + m0;
      out[i + plane] = s[j + c1] * s1 + m1;
      out[i + 2 * plane] = s[j + c2] * s2 + m2;
    }
  }
  return out;
}

/** The frame's gray (cv2's BGR2GRAY weights) blurred by [1,2,1]ᵀ[1,2,1]/16 (BORDER_REFLECT_101), as
 * TemporalSmoother blurs its guide image, into `out` (0-255 floats; `tmp`: scratch of the same size). */
function blurredGray(src, tmp, out) {
  const { width: w, height: h, channels: c, data: s } = src;
  for (let i = 0, j = 0; j < w * h; i += c, j++) out[j] = luma(s, i);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) tmp[y * w + x] = (out[y * w + reflect101(x - 1, w)] + 2 * out[y * w + x] + out[y * w + reflect101(x + 1, w)]) / 4;
  }
  for (let y = 0; y < h; y++) {
    const up = reflect101(y - 1, h) * w, down = reflect101(y + 1, h) * w;
    for (let x = 0; x < w; x++) out[y * w + x] = Math.round((tmp[up + x] + 2 * tmp[y * w + x] + tmp[down + x]) / 4);
  }
  return out;
}

/** Confidence-weighted EMA guided by the image (edgeseg.postprocess.TemporalSmoother, same defaults). */
export class TemporalSmoother {
  constructor(base = 0.03, gain = 1.0, cut = 0.25, motion = 0.16) {
    Object.assign(this, { base, gain, cut, motion });
    this.state = null;
    this.buf = null;       // reused while the size holds: the last and this frame's blurred gray, scratch, motion
    this.hasLast = false;
  }
  reset() { this.state = null; this.hasLast = false; }
  /** clip(|Δimage| / motion, 0, 1), the change taken as the largest in a 5×5 neighbourhood; null without a
   * last image of this size. `frame`: the RGBA frame at the mask's size. */
  moved(frame) {
    if (!frame) { this.hasLast = false; return null; }
    const { width: w, height: h } = frame, n = w * h;
    if (!this.buf || this.buf.w !== w || this.buf.h !== h) {
      this.buf = { w, h, last: new Float32Array(n), gray: new Float32Array(n), tmp: new Float32Array(n), moved: new Float32Array(n) };
      this.hasLast = false;
    }
    const b = this.buf, g = blurredGray(frame, b.tmp, b.gray), had = this.hasLast;
    [b.last, b.gray] = [g, b.last];              // this frame's gray is the next call's last
    this.hasLast = true;
    if (!had) return null;
    const last = b.gray, d = b.tmp, out = b.moved;
    for (let i = 0; i < n; i++) d[i] = Math.abs(g[i] - last[i]);
    for (let y = 0; y < h; y++) {                // 5-wide max along rows into `last` (no longer needed)
      for (let x = 0; x < w; x++) {
        let m = 0;
        for (let k = Math.max(0, x - 2); k <= Math.min(w - 1, x + 2); k++) m = Math.max(m, d[y * w + k]);
        last[y * w + x] = m;
      }
    }
    const scale = 1 / (255 * this.motion);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let m = 0;
        for (let k = Math.max(0, y - 2); k <= Math.min(h - 1, y + 2); k++) m = Math.max(m, last[k * w + x]);
        out[y * w + x] = Math.min(1, m * scale);
      }
    }
    return out;
  }
  apply(mask, frame = null) {
    const s = this.state, moved = this.moved(frame);
    if (!s || s.width !== mask.width || s.height !== mask.height) {
      this.state = { ...mask, data: Float32Array.from(mask.data) };
      return this.state;
    }
    const m = mask.data, d = s.data;
    let total = 0;
    for (let i = 0; i < m.length; i++) total += Math.abs(m[i] - d[i]);
    if (total / m.length > this.cut) { d.set(m); return s; }
    for (let i = 0; i < m.length; i++) {
      const diff = m[i] - d[i];
      let w = moved ? Math.max(this.base + this.gain * Math.abs(diff) * moved[i], moved[i]) : this.base + this.gain * Math.abs(diff);
      w = Math.min(w, 1);
      d[i] += w * diff;
    }
    return s;
  }
}

/** Fast guided filter with a gray guide (edgeseg.postprocess.guided_filter). */
export function guidedFilter(guide, src, radius, eps, subsample = 2) {
  const { width: w, height: h } = guide;
  let g = guide, p = src, r = Math.max(1, radius);
  if (subsample > 1 && Math.floor(Math.min(w, h) / subsample) >= 8) {
    g = subsample === 2 ? halve(guide) : resizeLinear(guide, Math.floor(w / subsample), Math.floor(h / subsample));
    p = subsample === 2 ? halve(src) : resizeLinear(src, g.width, g.height);
    r = Math.max(1, Math.floor(radius / subsample));
  }
  const n = g.data.length, gg = image(g.width, g.height, 1, Float32Array), gp = image(g.width, g.height, 1, Float32Array);
  for (let i = 0; i < n; i++) { gg.data[i] = g.data[i] * g.data[i]; gp.data[i] = g.data[i] * p.data[i]; }
  const mg = boxFilter(g, r).data, mp = boxFilter(p, r).data, mgg = boxFilter(gg, r).data, mgp = boxFilter(gp, r).data;
  const a = image(g.width, g.height, 1, Float32Array), b = image(g.width, g.height, 1, Float32Array);
  for (let i = 0; i < n; i++) {
    a.data[i] = (mgp[i] - mg[i] * mp[i]) / (mgg[i] - mg[i] * mg[i] + eps);
    b.data[i] = mp[i] - a.data[i] * mg[i];
  }
  let A = boxFilter(a, r), B = boxFilter(b, r);
  if (A.width !== w || A.height !== h) { A = resizeLinear(A, w, h); B = resizeLinear(B, w, h); }
  const out = image(w, h, 1, Float32Array);
  for (let i = 0; i < w * h; i++) out.data[i] = Math.min(1, Math.max(0, A.data[i] * guide.data[i] + B.data[i]));
  return out;
}

/** Soften the mask edge over about `width` px, centred (edgeseg.postprocess.feather). */
export function feather(mask, width) {
  if (width < 1) return mask;
  return boxFilter(mask, Math.max(1, pyRound(width / 2)));
}

export const SEGMENT_DEFAULTS = { workSize: 480, refine: true, refineRadius: 6, refineEps: 2e-3 };

/**
 * Segments RGBA frames with an onnxruntime-web session, as edgeseg.Segmenter.segment_work does.
 * segment() returns the mask at working resolution, the frame scaled to it, and the raw model
 * output cut out of the letterbox (`prob`, before smoothing) for comparison with Python.
 */
export class Segmenter {
  constructor(ort, session, meta, staticHW = null) {
    Object.assign(this, { ort, session, meta, staticHW });
    this.inputName = session.inputNames[0];
    this.outputName = session.outputNames[0];
    this.tensor = null;
  }

  canvasFor(frameHW) {
    return this.staticHW || chooseCanvas(frameHW, this.meta.input_hw, this.meta.adaptive, this.meta.multiple);
  }

  async segment(frame, options, timings, smoother = null) {
    const opts = { ...SEGMENT_DEFAULTS, ...options }, meta = this.meta;
    const t0 = performance.now();
    const fh = frame.height, fw = frame.width, s = Math.min(1, opts.workSize / Math.max(fh, fw));
    const ww = Math.max(1, pyRound(fw * s)), wh = Math.max(1, pyRound(fh * s));
    const small = s < 1 ? resizeFast(frame, ww, wh) : frame;
    const lb = letterboxGeometry([wh, ww], this.canvasFor([fh, fw]));
    const fitted = resizeFast(small, lb.width, lb.height);
    this.tensor = toTensor(fitted, lb, meta, this.tensor);
    const [ch, cw] = lb.canvas;
    const dims = meta.layout === 'NCHW' ? [1, 3, ch, cw] : [1, ch, cw, 3];
    const t1 = performance.now();
    const result = await this.session.run({ [this.inputName]: new this.ort.Tensor('float32', this.tensor, dims) });
    const t2 = performance.now();
    const out = result[this.outputName], data = out.data;
    const prob = image(lb.width, lb.height, 1, Float32Array);
    for (let y = 0; y < lb.height; y++) {
      const row = (y + lb.top) * cw + lb.left;
      prob.data.set(data.subarray(row, row + lb.width), y * lb.width);
    }
    out.dispose?.();
    if (meta.output === 'logits') {
      for (let i = 0; i < prob.data.length; i++) prob.data[i] = 1 / (1 + Math.exp(-Math.min(30, Math.max(-30, prob.data[i]))));
    }
    const smoothed = smoother ? smoother.apply(prob, fitted) : prob;   // the frame at the mask's size guides it
    let mask = resizeLinear(smoothed, ww, wh);
    if (opts.refine) {
      const radius = Math.max(1, pyRound(opts.refineRadius * Math.max(ww, wh) / 480));
      mask = guidedFilter(grayFloat(small), mask, radius, opts.refineEps);
    } else {
      for (let i = 0; i < mask.data.length; i++) mask.data[i] = Math.min(1, Math.max(0, mask.data[i]));
    }
    const t3 = performance.now();
    Object.assign(timings, { preprocess: t1 - t0, inference: t2 - t1, postprocess: t3 - t2 });
    return { mask, small, prob, letterbox: lb };
  }
}
