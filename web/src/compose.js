// Compositing as edgeseg/compose.py and pipeline.py do it: the halo-free blur (background blurred
// with the person weighted out and renormalised, at reduced size), then frame·a + background·(1 − a),
// with the mask and the background scaled up bilinearly: by the texture units in one WebGL2 pass
// (GlCompositor), or by canvas 2D drawImage where WebGL2 is missing (CanvasCompositor).
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

// The composite's alpha, as edgeseg.compose.ALPHA_LUT: 8 or less is 0, 247 or more is 255, linear between, so the
// model's faint response on the background lays no haze of the frame over it. The 'mask' effect shows the mask as it is.
export const ALPHA_FLOOR = 8, ALPHA_CEIL = 247;
const IDENTITY = Uint8Array.from({ length: 256 }, (_, v) => v);
export const ALPHA_LUT = Uint8Array.from({ length: 256 },
  (_, v) => Math.round(Math.min(255, Math.max(0, (v - ALPHA_FLOOR) * 255 / (ALPHA_CEIL - ALPHA_FLOOR)))));

/** Alpha as the A channel of an RGBA image (u8, rounded, as cv2.convertScaleAbs(mask, alpha=255)),
 * through `lut` (ALPHA_LUT for compositing). */
export function alphaImage(mask, out, opaque = false, lut = IDENTITY) {
  if (!out || out.width !== mask.width || out.height !== mask.height) out = image(mask.width, mask.height, 4);
  const words = new Uint32Array(out.data.buffer, out.data.byteOffset, mask.data.length), m = mask.data;
  const top = opaque ? 0xff000000 : 0;                 // little-endian RGBA: A is the high byte
  for (let i = 0; i < m.length; i++) {
    const a = lut[Math.round(Math.min(1, Math.max(0, m[i])) * 255)];
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

/** The mask as uint8 (rounded, as cv2.convertScaleAbs(mask, alpha=255)) through `lut`, one byte a pixel. */
export function alphaBytes(mask, out, lut = IDENTITY) {
  const m = mask.data;
  if (!out || out.length !== m.length) out = new Uint8Array(m.length);
  for (let i = 0; i < m.length; i++) out[i] = lut[Math.round(Math.min(1, Math.max(0, m[i])) * 255)];
  return out;
}

/**
 * Canvas-2D compositing, where WebGL2 is missing. draw(): `frame` is the RGBA frame image and
 * `frameSource` a canvas holding it, `mask` the float mask (any size), `background` an RGBA image
 * (any size) or a drawable for 'replace'.
 */
export class CanvasCompositor {
  constructor(canvas) {
    this.name = 'canvas 2d';
    this.ctx = canvas.getContext('2d');
    this.alphaCanvas = new OffscreenCanvas(1, 1);
    this.bgCanvas = new OffscreenCanvas(1, 1);
    this.person = new OffscreenCanvas(1, 1);
  }

  draw(effect, frame, frameSource, mask, background) {
    const ctx = this.ctx, w = ctx.canvas.width, h = ctx.canvas.height;
    ctx.imageSmoothingEnabled = true;
    ctx.globalCompositeOperation = 'source-over';
    if (effect === 'none') { ctx.drawImage(frameSource, 0, 0, w, h); return; }
    this.alpha = alphaImage(mask, this.alpha, effect === 'mask', effect === 'mask' ? IDENTITY : ALPHA_LUT);
    const a = toCanvas(this.alpha, this.alphaCanvas);
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

const VERTEX = `#version 300 es
in vec2 p;
out vec2 uv;
void main() { uv = vec2(p.x + 1.0, 1.0 - p.y) * 0.5; gl_Position = vec4(p, 0.0, 1.0); }`;

// out = frame·a + background·(1 − a): the mask and the background are upscaled by the texture units'
// bilinear filter (pixel centres, clamped edges: the sampling cv2.resize INTER_LINEAR does).
const FRAGMENT = `#version 300 es
precision highp float;
uniform sampler2D frame, alpha, bg;
uniform int mode;              // 0: blend, 1: mask, 2: frame only
uniform vec2 bgScale;          // 'replace': cover-crop of the background image
in vec2 uv;
out vec4 colour;
void main() {
  vec3 f = texture(frame, uv).rgb;
  float a = texture(alpha, uv).r;
  if (mode == 1) { colour = vec4(vec3(a), 1.0); return; }
  if (mode == 2) { colour = vec4(f, 1.0); return; }
  vec3 b = texture(bg, (uv - 0.5) * bgScale + 0.5).rgb;
  colour = vec4(mix(b, f, a), 1.0);
}`;

/** WebGL2 compositing: one full-screen pass. Same draw() as CanvasCompositor; null without WebGL2. */
export class GlCompositor {
  static create(canvas) {
    const gl = canvas.getContext('webgl2', { alpha: false, antialias: false, depth: false, preserveDrawingBuffer: true });
    return gl ? new GlCompositor(gl) : null;
  }

  constructor(gl) {
    this.name = 'webgl2';
    this.gl = gl;
    const shader = (type, src) => {
      const sh = gl.createShader(type);
      gl.shaderSource(sh, src);
      gl.compileShader(sh);
      if (!gl.getShaderParameter(sh, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(sh)}`);
      return sh;
    };
    const prog = this.prog = gl.createProgram();
    gl.attachShader(prog, shader(gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(prog, shader(gl.FRAGMENT_SHADER, FRAGMENT));
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`shader link: ${gl.getProgramInfoLog(prog)}`);
    gl.useProgram(prog);
    gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);   // one triangle
    const loc = gl.getAttribLocation(prog, 'p');
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, 2, gl.FLOAT, false, 0, 0);
    this.tex = ['frame', 'alpha', 'bg'].map((name, unit) => {
      const t = gl.createTexture();
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, t);
      for (const [k, v] of [[gl.TEXTURE_MIN_FILTER, gl.LINEAR], [gl.TEXTURE_MAG_FILTER, gl.LINEAR],
        [gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE], [gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE]]) gl.texParameteri(gl.TEXTURE_2D, k, v);
      gl.uniform1i(gl.getUniformLocation(prog, name), unit);
      return t;
    });
    this.mode = gl.getUniformLocation(prog, 'mode');
    this.bgScale = gl.getUniformLocation(prog, 'bgScale');
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  }

  upload(unit, format, width, height, data) {
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE0 + unit);
    gl.bindTexture(gl.TEXTURE_2D, this.tex[unit]);
    const internal = format === gl.RED ? gl.R8 : gl.RGBA8;
    if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) {
      const bytes = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      gl.texImage2D(gl.TEXTURE_2D, 0, internal, width, height, 0, format, gl.UNSIGNED_BYTE, bytes);
    } else {
      gl.texImage2D(gl.TEXTURE_2D, 0, internal, format, gl.UNSIGNED_BYTE, data);   // ImageBitmap, canvas, video
    }
  }

  draw(effect, frame, frameSource, mask, background) {
    const gl = this.gl, w = gl.canvas.width, h = gl.canvas.height;
    gl.viewport(0, 0, w, h);
    this.upload(0, gl.RGBA, frame.width, frame.height, frame.data);
    let mode = 0, scale = [1, 1];
    if (effect === 'none') mode = 2;
    else {
      this.alpha = alphaBytes(mask, this.alpha, effect === 'mask' ? IDENTITY : ALPHA_LUT);
      this.upload(1, gl.RED, mask.width, mask.height, this.alpha);
      if (effect === 'mask') mode = 1;
      else if (background && background.data) this.upload(2, gl.RGBA, background.width, background.height, background.data);
      else if (background) {
        const iw = background.width, ih = background.height, s = Math.max(w / iw, h / ih);
        scale = [w / s / iw, h / s / ih];
        this.upload(2, gl.RGBA, iw, ih, background);
      } else this.upload(2, gl.RGBA, 1, 1, new Uint8Array([34, 170, 102, 255]));
    }
    gl.uniform1i(this.mode, mode);
    gl.uniform2f(this.bgScale, scale[0], scale[1]);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
  }
}
