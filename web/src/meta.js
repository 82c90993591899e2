// ModelMeta, read straight from the ONNX file: the JSON under the key "edgeseg" in the ModelProto's
// metadata_props, the one source of truth that the Python runtime (edgeseg/meta.py) reads too.
// A minimal protobuf reader walks the top-level fields; nothing else of the model is decoded.

export const META_KEY = 'edgeseg';
export const SCHEMA_VERSION = 1;
const METADATA_PROPS = 14; // ModelProto field number (onnx.proto)

const DEFAULTS = {
  input_hw: [144, 256], adaptive: true, multiple: 16, layout: 'NCHW', colour: 'RGB',
  mean: [0, 0, 0], std: [1, 1, 1], output: 'probability', threshold: 0.5, precision: 'fp32',
  name: 'edgeseg', edgeseg_version: '', source_sha256: '', val_person_iou: null, extra: {},
  schema_version: SCHEMA_VERSION,
};
const CHOICES = { layout: ['NCHW', 'NHWC'], colour: ['RGB', 'BGR'], output: ['probability', 'logits'] };

export class MetadataError extends Error {}

function varint(buf, pos) {
  let value = 0, scale = 1, b;
  do {
    if (pos >= buf.length) throw new MetadataError('the model file is truncated; download it again');
    b = buf[pos++];
    value += (b & 0x7f) * scale;
    scale *= 128;
  } while (b & 0x80);
  return [value, pos];
}

// Calls visit(field, wireType, start, end) for each field of the message in buf[start, end).
function fields(buf, start, end, visit) {
  let pos = start;
  while (pos < end) {
    let tag, len;
    [tag, pos] = varint(buf, pos);
    const field = Math.floor(tag / 8), wire = tag & 7;
    if (wire === 0) [, pos] = varint(buf, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      [len, pos] = varint(buf, pos);
      visit(field, wire, pos, pos + len);
      pos += len;
    } else throw new MetadataError(`not an ONNX model (protobuf wire type ${wire}); pass an .onnx file`);
  }
}

/** The metadata_props of an ONNX model as a plain {key: value} object. */
export function metadataProps(bytes) {
  const buf = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const text = new TextDecoder();
  const props = {};
  fields(buf, 0, buf.length, (field, wire, s, e) => {
    if (field !== METADATA_PROPS) return;
    let key = '', value = '';
    fields(buf, s, e, (f, w, a, b) => {
      if (f === 1) key = text.decode(buf.subarray(a, b));
      else if (f === 2) value = text.decode(buf.subarray(a, b));
    });
    props[key] = value;
  });
  return props;
}

/** Parse and check ModelMeta JSON as edgeseg/meta.py does. Throws MetadataError. */
export function parseMeta(text) {
  let data;
  try { data = JSON.parse(text); } catch (e) {
    throw new MetadataError(`model metadata is not valid JSON (${e.message}); re-export the model`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new MetadataError('model metadata must be a JSON object; re-export the model');
  }
  if (data.schema_version !== SCHEMA_VERSION) {
    throw new MetadataError(`model metadata schema ${data.schema_version} is not supported by this page ` +
      `(supports ${SCHEMA_VERSION}); rebuild the page or re-export the model`);
  }
  const unknown = Object.keys(data).filter((k) => !(k in DEFAULTS)).sort();
  if (unknown.length) throw new MetadataError(`unknown model metadata field(s) ${unknown}; re-export the model`);
  const meta = { ...DEFAULTS, ...data };
  const bad = (msg) => new MetadataError(`invalid model metadata: ${msg}`);
  for (const [k, valid] of Object.entries(CHOICES)) {
    if (!valid.includes(meta[k])) throw bad(`${k} ${JSON.stringify(meta[k])}; valid: ${valid.join(', ')}`);
  }
  if (meta.input_hw.length !== 2 || Math.min(...meta.input_hw) < 1) throw bad(`input_hw ${meta.input_hw}`);
  if (meta.mean.length !== 3 || meta.std.length !== 3 || meta.std.some((s) => s === 0)) {
    throw bad('mean and std need three values each, std non-zero');
  }
  if (!(meta.threshold > 0 && meta.threshold < 1)) throw bad(`threshold ${meta.threshold} must lie in (0, 1)`);
  return meta;
}

/** ModelMeta of an ONNX model's bytes. Throws MetadataError when it carries none. */
export function readMeta(bytes) {
  const text = metadataProps(bytes)[META_KEY];
  if (text === undefined) {
    throw new MetadataError(`the model has no edgeseg metadata ('${META_KEY}' in metadata_props); ` +
      'export it with `python -m export`');
  }
  return parseMeta(text);
}
