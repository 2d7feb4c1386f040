// An animated GIF (GIF89a) from frames of equal size: one palette of 256 colours for all frames
// (the most used colours at 5 bits per channel), each pixel mapped to its nearest palette colour,
// LZW-coded as the format requires. Small and dependency-free, so it works in an exported file.

function palette(images) {
  const count = new Uint32Array(32768), sum = new Float64Array(32768 * 3);
  for (const { data } of images) {
    for (let i = 0; i < data.length; i += 4 * 3) {   // every third pixel is plenty to count
      const b = ((data[i] >> 3) << 10) | ((data[i + 1] >> 3) << 5) | (data[i + 2] >> 3);
      count[b]++;
      sum[3 * b] += data[i]; sum[3 * b + 1] += data[i + 1]; sum[3 * b + 2] += data[i + 2];
    }
  }
  const used = [...count.keys()].filter((b) => count[b]).sort((a, b) => count[b] - count[a]).slice(0, 256);
  const colours = used.map((b) => [0, 1, 2].map((c) => Math.round(sum[3 * b + c] / count[b])));
  while (colours.length < 256) colours.push([0, 0, 0]);
  return colours;
}

function nearestMap(colours) {
  const cache = new Int16Array(32768).fill(-1);
  return (r, g, b) => {
    const key = ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
    let k = cache[key];
    if (k >= 0) return k;
    let best = Infinity;
    colours.forEach(([cr, cg, cb], j) => {
      const d = (cr - r) ** 2 + (cg - g) ** 2 + (cb - b) ** 2;
      if (d < best) { best = d; k = j; }
    });
    cache[key] = k;
    return k;
  };
}

/** LZW as GIF uses it (variable code size from 9 bits up to 12, a clear code when full). */
function lzw(indices, minCodeSize = 8) {
  const clear = 1 << minCodeSize, eoi = clear + 1, out = [];
  let codeSize = minCodeSize + 1, next = eoi + 1, table = new Map(), acc = 0, bits = 0;
  const emit = (code) => {
    acc |= code << bits;
    bits += codeSize;
    while (bits >= 8) { out.push(acc & 255); acc >>>= 8; bits -= 8; }
  };
  emit(clear);
  let prefix = indices[0];
  for (let i = 1; i < indices.length; i++) {
    const k = indices[i], key = (prefix << 8) | k, found = table.get(key);
    if (found !== undefined) { prefix = found; continue; }
    emit(prefix);
    if (next === 4096) {
      emit(clear);
      next = eoi + 1; codeSize = minCodeSize + 1; table = new Map();
    } else {
      if (next >= 1 << codeSize) codeSize++;
      table.set(key, next++);
    }
    prefix = k;
  }
  emit(prefix);
  emit(eoi);
  if (bits > 0) out.push(acc & 255);
  return out;
}

/** ImageData frames (equal size) -> the bytes of a looping GIF showing each for `delayMs`. */
export function encodeGif(images, delayMs = 250) {
  const { width: w, height: h } = images[0];
  const colours = palette(images), nearest = nearestMap(colours);
  const out = [];
  const u16 = (n) => out.push(n & 255, (n >> 8) & 255);
  const ascii = (s) => { for (const ch of s) out.push(ch.charCodeAt(0)); };
  ascii("GIF89a"); u16(w); u16(h); out.push(0xf7, 0, 0);
  for (const c of colours) out.push(...c);
  out.push(0x21, 0xff, 0x0b); ascii("NETSCAPE2.0"); out.push(3, 1, 0, 0, 0);   // loop for ever
  const delay = Math.max(2, Math.round(delayMs / 10));
  const indices = new Uint8Array(w * h);
  for (const { data } of images) {
    for (let p = 0; p < w * h; p++) indices[p] = nearest(data[4 * p], data[4 * p + 1], data[4 * p + 2]);
    out.push(0x21, 0xf9, 4, 0x04); u16(delay); out.push(0, 0);
    out.push(0x2c); u16(0); u16(0); u16(w); u16(h); out.push(0, 8);
    const code = lzw(indices);
    for (let i = 0; i < code.length; i += 255) {
      const block = code.slice(i, i + 255);
      out.push(block.length, ...block);
    }
    out.push(0);
  }
  out.push(0x3b);
  return new Uint8Array(out);
}
