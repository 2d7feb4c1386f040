// The binary form of a batch of /ws frames (server/tracing/binary.py; contracts §5):
//   bytes 0..3   n, the header's length (uint32, little-endian)
//   4..4+n       the frames as JSON, each array of numbers replaced by {"$f64": [offset, count]}
//   4+n..        float64 data, little-endian, starting at a multiple of 8
// Numbers arrive as their exact 8 bytes (no rounding through text); inf/NaN become null, as in
// the JSON form.

const REF = "$f64";
const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;
const utf8 = new TextDecoder();

/** An ArrayBuffer from the server -> the array of frames the JSON form would have given. */
export function unpackFrames(buffer) {
  const n = new DataView(buffer).getUint32(0, true);
  const header = JSON.parse(utf8.decode(new Uint8Array(buffer, 4, n)));
  const count = (buffer.byteLength - 4 - n) / 8;
  const data = LITTLE_ENDIAN ? new Float64Array(buffer, 4 + n, count) : swapped(buffer, 4 + n, count);
  return expand(header, data);
}

function expand(value, data) {
  if (Array.isArray(value)) return value.map((v) => expand(v, data));
  if (value === null || typeof value !== "object") return value;
  const ref = value[REF];
  if (ref !== undefined) {
    const [offset, length] = ref;
    const out = new Array(length);
    for (let i = 0; i < length; i++) {
      const x = data[offset + i];
      out[i] = Number.isFinite(x) ? x : null;
    }
    return out;
  }
  const out = {};
  for (const key of Object.keys(value)) out[key] = expand(value[key], data);
  return out;
}

function swapped(buffer, offset, count) {
  // A big-endian machine (rare): read each number with an explicit byte order.
  const view = new DataView(buffer, offset);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  return out;
}
