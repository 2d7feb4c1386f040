// A .zip of files stored as they are (PNG frames are compressed already): local headers, the
// central directory and its end record, each with the file's CRC-32.

const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** [[name, Uint8Array], ...] -> the bytes of a zip file. */
export function zipFiles(files) {
  const parts = [], central = [];
  let offset = 0;
  const header = (sig, fields) => {
    const buf = new DataView(new ArrayBuffer(4 + fields.reduce((n, [size]) => n + size, 0)));
    buf.setUint32(0, sig, true);
    let at = 4;
    for (const [size, v] of fields) { if (size === 2) buf.setUint16(at, v, true); else buf.setUint32(at, v, true); at += size; }
    return new Uint8Array(buf.buffer);
  };
  const enc = new TextEncoder();
  for (const [name, data] of files) {
    const nm = enc.encode(name), crc = crc32(data);
    const common = [[2, 20], [2, 0], [2, 0], [2, 0], [2, 0x21], [4, crc], [4, data.length], [4, data.length], [2, nm.length], [2, 0]];
    const local = header(0x04034b50, common);
    parts.push(local, nm, data);
    central.push(header(0x02014b50, [[2, 20], ...common, [2, 0], [2, 0], [2, 0], [4, 0], [4, offset]]), nm);
    offset += local.length + nm.length + data.length;
  }
  const size = central.reduce((n, p) => n + p.length, 0);
  const end = header(0x06054b50, [[2, 0], [2, 0], [2, files.length], [2, files.length], [4, size], [4, offset], [2, 0]]);
  const all = [...parts, ...central, end];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) { out.set(p, at); at += p.length; }
  return out;
}
