// Compositing as edgeseg/compose.py and pipeline.py do it: the halo-free blur (background blurred
// with the person weighted out and renormalised, at reduced size), then frame·a + background·(1 − a),
// with the mask and the background scaled up bilinearly by the canvas (GPU-backed canvas 2D).
import { gaussianBlur, image, pyRound, resizeFast, resizeLinear } from './imaging.js';

export const COMPOSE_DEFAULTS = { effect: 'blur', blurStrength: 12, featherPx: 4, blurSize: 320 };
export const EFFECTS = ['blur', 'replace', 'mask', 'none'];

/** Halo-free blurred background of `small` (RGBA) at the size blur_behind picks. Returns an RGBA image. */
export function blurBehind(frame, small, mask, strength, blurSize = 320) {
  const h = frame.height, w = frame.width;
  const longSide = Math.min(blurSize, Math.max(h, w), Math.max(48, pyRound(2.0 * 1280 / Math.max(strength, 1e-3))));
  const s = longSide / Math.max(h, w);
  const sw = Math.max(1, pyRound(w * s)), sh = Math.max(1, pyRound(h * s));
  const src = small && small.width >= sw ? small : frame;
  const px = resizeFast(src, sw, sh), alpha = resizeLinear(mask, sw, sh);
  const sigma = Math.max(0.5, strength * Math.max(sw, sh) / 1280);
  const n = sw * sh, weight = image(sw, sh, 1, Float32Array);
  const planes = [0, 1, 2].map(() => image(sw, sh, 1, Float32Array)), p = px.data;
  const [r, g, b] = planes.map((q) => q.data);
  for (let i = 0; i < n; i++) {
    const wt = Math.max(1 - alpha.data[i], 1e-3);
    weight.data[i] = wt;
    r[i] = p[4 * i] * wt; g[i] = p[4 * i + 1] * wt; b[i] = p[4 * i + 2] * wt;
  }
  const den = gaussianBlur(weight, sigma).data, [R, G, B] = planes.map((q) => gaussianBlur(q, sigma).data);
  const out = image(sw, sh, 4), o = out.data;
  for (let i = 0; i < n; i++) {
    const inv = 1 / den[i];
    o[4 * i] = R[i] * inv; o[4 * i + 1] = G[i] * inv; o[4 * i + 2] = B[i] * inv; o[4 * i + 3] = 255;
  }
  return out;
}

/** Alpha as the A channel of an RGBA image (u8, rounded, as cv2.convertScaleAbs(mask, alpha=255)). */
export function alphaImage(mask, out, opaque = false) {
  if (!out || out.width !== mask.width || out.height !== mask.height) out = image(mask.width, mask.height, 4);
  const words = new Uint32Array(out.data.buffer, out.data.byteOffset, mask.data.length), m = mask.data;
  const top = opaque ? 0xff000000 : 0;                 // little-endian RGBA: A is the high byte
  for (let i = 0; i < m.length; i++) {
    const a = Math.round(Math.min(1, Math.max(0, m[i])) * 255);
    words[i] = (top | (a << 24) | (a << 16) | (a << 8) | a) >>> 0;
  }
  return out;
}

function toCanvas(img, canvas) {
  if (canvas.width !== img.width || canvas.height !== img.height) { canvas.width = img.width; canvas.height = img.height; }
  canvas.getContext('2d').putImageData(new ImageData(img.data, img.width, img.height), 0, 0);
  return canvas;
}

/** Draw an image scaled to cover w×h without distortion, centre-cropped (edgeseg.compose.cover_resize). */
function drawCover(ctx, img, w, h) {
  const iw = img.naturalWidth || img.width, ih = img.naturalHeight || img.height, s = Math.max(w / iw, h / ih);
  const cw = w / s, ch = h / s;
  ctx.drawImage(img, (iw - cw) / 2, (ih - ch) / 2, cw, ch, 0, 0, w, h);
}

/**
 * Draws the effect into `ctx` (a frame-sized 2D context): `frameSource` is a canvas holding the
 * frame, `alpha` an RGBA image whose A channel is the mask (any size), `background` an RGBA
 * image (any size) or a drawable for 'replace'.
 */
export class CanvasCompositor {
  constructor() {
    this.alphaCanvas = new OffscreenCanvas(1, 1);
    this.bgCanvas = new OffscreenCanvas(1, 1);
    this.person = new OffscreenCanvas(1, 1);
  }

  draw(ctx, effect, frameSource, alpha, background) {
    const w = ctx.canvas.width, h = ctx.canvas.height;
    ctx.imageSmoothingEnabled = true;
    ctx.globalCompositeOperation = 'source-over';
    if (effect === 'none') { ctx.drawImage(frameSource, 0, 0, w, h); return; }
    const a = toCanvas(alpha, this.alphaCanvas);
    if (effect === 'mask') {
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, w, h);
      ctx.drawImage(a, 0, 0, w, h);
      return;
    }
    if (this.person.width !== w || this.person.height !== h) { this.person.width = w; this.person.height = h; }
    const p = this.person.getContext('2d');
    p.globalCompositeOperation = 'copy';
    p.drawImage(frameSource, 0, 0, w, h);
    p.globalCompositeOperation = 'destination-in';   // keep the frame where the mask is
    p.imageSmoothingEnabled = true;
    p.drawImage(a, 0, 0, w, h);
    if (background && background.data) ctx.drawImage(toCanvas(background, this.bgCanvas), 0, 0, w, h);
    else if (background) drawCover(ctx, background, w, h);
    else { ctx.fillStyle = '#2a6'; ctx.fillRect(0, 0, w, h); }
    ctx.drawImage(this.person, 0, 0);
  }
}
