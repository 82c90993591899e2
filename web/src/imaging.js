// Image operations on typed arrays, ported from the OpenCV calls that edgeseg's Python runtime makes,
// with the same sampling rules (pixel-centre bilinear, 2x2 area halving, BORDER_REFLECT_101), so the
// page feeds the model what Python feeds it. An image is {data, width, height, channels}.

/** Python's round(): halves go to the even neighbour. */
export function pyRound(x) {
  const r = Math.round(x);
  return (r - x === 0.5 && r % 2 !== 0) ? r - 1 : r;
}

export function image(width, height, channels, Type = Uint8ClampedArray) {
  return { data: new Type(width * height * channels), width, height, channels };
}

function reuse(out, width, height, channels, Type) {
  if (out && out.width === width && out.height === height && out.channels === channels && out.data instanceof Type) return out;
  return image(width, height, channels, Type);
}

// cv2 INTER_LINEAR source taps for one axis: index and weight of the left/top tap.
function linearTaps(src, dst, stride) {
  const scale = src / dst, i0 = new Int32Array(dst), i1 = new Int32Array(dst), a = new Float32Array(dst);
  for (let d = 0; d < dst; d++) {
    let f = (d + 0.5) * scale - 0.5, s = Math.floor(f);
    f -= s;
    if (s < 0) { s = 0; f = 0; }
    if (s >= src - 1) { s = src - 1; f = 0; }
    i0[d] = s * stride; i1[d] = Math.min(s + 1, src - 1) * stride; a[d] = f;
  }
  return { i0, i1, a };
}

// One function per pixel type (RGBA uint8, gray float32) keeps V8's element access monomorphic.
function resizeRGBA(src, width, height, out) {
  const sw = src.width, s = src.data, d = out.data, X = linearTaps(sw, width, 4), Y = linearTaps(src.height, height, sw * 4);
  for (let y = 0, o = 0; y < height; y++) {
    const r0 = Y.i0[y], r1 = Y.i1[y], b = Y.a[y], b0 = 1 - b;
    for (let x = 0; x < width; x++, o += 4) {
      const p00 = r0 + X.i0[x], p01 = r0 + X.i1[x], p10 = r1 + X.i0[x], p11 = r1 + X.i1[x], a = X.a[x], a0 = 1 - a;
      const w00 = b0 * a0, w01 = b0 * a, w10 = b * a0, w11 = b * a;
      d[o] = w00 * s[p00] + w01 * s[p01] + w10 * s[p10] + w11 * s[p11];       // Uint8ClampedArray rounds
      d[o + 1] = w00 * s[p00 + 1] + w01 * s[p01 + 1] + w10 * s[p10 + 1] + w11 * s[p11 + 1];
      d[o + 2] = w00 * s[p00 + 2] + w01 * s[p01 + 2] + w10 * s[p10 + 2] + w11 * s[p11 + 2];
      d[o + 3] = 255;
    }
  }
  return out;
}

function resizeGray(src, width, height, out) {
  const sw = src.width, s = src.data, d = out.data, X = linearTaps(sw, width, 1), Y = linearTaps(src.height, height, sw);
  for (let y = 0, o = 0; y < height; y++) {
    const r0 = Y.i0[y], r1 = Y.i1[y], b = Y.a[y], b0 = 1 - b;
    for (let x = 0; x < width; x++, o++) {
      const x0 = X.i0[x], x1 = X.i1[x], a = X.a[x], a0 = 1 - a;
      d[o] = b0 * (a0 * s[r0 + x0] + a * s[r0 + x1]) + b * (a0 * s[r1 + x0] + a * s[r1 + x1]);
    }
  }
  return out;
}

const isGray = (img) => img.channels === 1;

/** cv2.resize(..., INTER_LINEAR) of an RGBA uint8 image (rounded) or a gray float32 one. */
export function resizeLinear(src, width, height, out) {
  const gray = isGray(src);
  out = reuse(out, width, height, src.channels, gray ? Float32Array : Uint8ClampedArray);
  return gray ? resizeGray(src, width, height, out) : resizeRGBA(src, width, height, out);
}

/** Halve each side by 2x2 averaging (cv2 INTER_AREA at a ratio of 2). */
export function halve(src, out) {
  const sw = src.width, s = src.data, w = sw >> 1, h = src.height >> 1;
  if (isGray(src)) {
    out = reuse(out, w, h, 1, Float32Array);
    const d = out.data;
    for (let y = 0, o = 0; y < h; y++) {
      for (let x = 0, i = 2 * y * sw; x < w; x++, i += 2, o++) d[o] = (s[i] + s[i + 1] + s[i + sw] + s[i + sw + 1]) * 0.25;
    }
    return out;
  }
  out = reuse(out, w, h, 4, Uint8ClampedArray);
  const d = out.data, row = sw * 4;
  for (let y = 0, o = 0; y < h; y++) {
    for (let x = 0, i = 2 * y * row; x < w; x++, i += 8, o += 4) {
      d[o] = (s[i] + s[i + 4] + s[i + row] + s[i + row + 4] + 2) >> 2;
      d[o + 1] = (s[i + 1] + s[i + 5] + s[i + row + 1] + s[i + row + 5] + 2) >> 2;
      d[o + 2] = (s[i + 2] + s[i + 6] + s[i + row + 2] + s[i + row + 6] + 2) >> 2;
      d[o + 3] = 255;
    }
  }
  return out;
}

/** edgeseg.preprocess.resize_fast: halve while at least twice the target, then bilinear. */
export function resizeFast(src, width, height, out) {
  let img = src;
  while (img.width >= 2 * width && img.height >= 2 * height) img = halve(img);
  if (img.width === width && img.height === height) return img;
  return resizeLinear(img, width, height, out);
}

export function reflect101(i, n) {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

// Correlate the rows (step 1, n long, `lines` of them lineStep apart) or the columns (step w) of a
// gray float image with a normalised box of width 2r+1 (BORDER_REFLECT_101), as a running sum.
function boxPass(s, d, n, lines, step, lineStep, r) {
  const idx = new Int32Array(n + 2 * r), inv = 1 / (2 * r + 1);
  for (let i = -r; i < n + r; i++) idx[i + r] = reflect101(i, n) * step;
  for (let l = 0; l < lines; l++) {
    const base = l * lineStep;
    let acc = 0;
    for (let t = 0; t <= 2 * r; t++) acc += s[base + idx[t]];
    d[base] = acc * inv;
    for (let i = 1; i < n; i++) {
      acc += s[base + idx[i + 2 * r]] - s[base + idx[i - 1]];
      d[base + i * step] = acc * inv;
    }
  }
}

/** cv2.boxFilter / cv2.blur (normalised) of a gray float image, with a (2r+1)-wide square kernel. */
export function boxFilter(src, r, out) {
  const { width: w, height: h } = src;
  out = reuse(out, w, h, 1, Float32Array);
  const tmp = new Float32Array(w * h);
  boxPass(src.data, tmp, w, h, 1, w, r);
  boxPass(tmp, out.data, h, w, w, 1, r);
  return out;
}

/**
 * A Gaussian blur of standard deviation sigma of a gray float image, as three running box
 * passes per axis whose widths match sigma (Kovesi, "Fast almost-Gaussian filtering", 2010):
 * cv2.GaussianBlur's 8σ+1-tap kernel costs ~6× more per pixel in JS, and the two differ by
 * less than the eye can see in a background blur.
 */
export function gaussianBlur(src, sigma, out) {
  const { width: w, height: h } = src;
  const ideal = Math.sqrt(12 * sigma * sigma / 3 + 1);
  let lower = Math.floor(ideal);
  if (lower % 2 === 0) lower--;
  const m = Math.round((12 * sigma * sigma - 3 * lower * lower - 12 * lower - 9) / (-4 * lower - 4));
  const radii = [0, 1, 2].map((i) => ((i < m ? lower : lower + 2) - 1) >> 1);
  out = reuse(out, w, h, 1, Float32Array);
  let a = Float32Array.from(src.data), b = new Float32Array(w * h);
  for (const r of radii) {
    if (r < 1) continue;
    boxPass(a, b, w, h, 1, w, r);
    boxPass(b, a, h, w, w, 1, r);
  }
  out.data.set(a);
  return out;
}

/** cv2's BGR2GRAY level (0-255) of the RGB(A) pixel at index i: the same fixed-point weights and rounding. */
export function luma(s, i) {
  return (s[i] * 4899 + s[i + 1] * 9617 + s[i + 2] * 1868 + 8192) >> 14;
}

/** cv2.cvtColor(RGB(A) -> GRAY) as float in [0, 1] (OpenCV's fixed-point weights, then /255). */
export function grayFloat(src, out) {
  const { width: w, height: h, channels: c, data: s } = src;
  out = reuse(out, w, h, 1, Float32Array);
  for (let i = 0, j = 0; j < w * h; i += c, j++) {
    out.data[j] = luma(s, i) / 255;
  }
  return out;
}
