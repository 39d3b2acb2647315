// Draws qscribe's app icons (a piano roll: keys on the left, notes as bars) into this folder:
// icon.svg, icon-192.png, icon-512.png and icon-maskable-512.png (full bleed, the drawing inside
// the maskable safe zone). Plain Node (zlib for PNG), no image tools needed. The outputs are
// committed; run it again after changing the drawing:  node web/icons/make-icons.mjs
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const BG = '#16171c', KEY = '#e6e6e6', BLUE = '#4f9dff', AMBER = '#ffb454', GRID = '#2a2d36';

// Rounded rectangles in a unit square: [x, y, w, h, radius, colour], painted in order.
function shapes(maskable) {
  const s = [];
  s.push(maskable ? [0, 0, 1, 1, 0, BG] : [0, 0, 1, 1, 0.18, BG]);
  const content = [];
  for (let i = 0; i < 5; i++) content.push([0.30, 0.215 + i * 0.12 + 0.05, 0.56, 0.006, 0, GRID]);
  content.push([0.14, 0.18, 0.12, 0.64, 0.02, KEY]);
  for (const y of [0.25, 0.37, 0.57, 0.69]) content.push([0.14, y, 0.075, 0.06, 0.01, BG]);
  content.push([0.32, 0.215, 0.22, 0.075, 0.0375, BLUE]);
  content.push([0.50, 0.335, 0.32, 0.075, 0.0375, AMBER]);
  content.push([0.38, 0.455, 0.20, 0.075, 0.0375, BLUE]);
  content.push([0.60, 0.575, 0.24, 0.075, 0.0375, BLUE]);
  content.push([0.34, 0.695, 0.36, 0.075, 0.0375, AMBER]);
  const k = maskable ? 0.78 : 1;  // the maskable safe zone is the central 80 %
  for (const [x, y, w, h, r, c] of content) s.push([0.5 + (x - 0.5) * k, 0.5 + (y - 0.5) * k, w * k, h * k, r * k, c]);
  return s;
}

function inside([x, y, w, h, r], px, py) {
  if (px < x || px > x + w || py < y || py > y + h) return false;
  const cx = Math.min(Math.max(px, x + r), x + w - r), cy = Math.min(Math.max(py, y + r), y + h - r);
  return (px - cx) ** 2 + (py - cy) ** 2 <= r * r;
}

const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

function raster(size, maskable) {
  const list = shapes(maskable).map((s) => ({ s, c: rgb(s[5]) }));
  const SS = 4;  // 4x4 supersampling
  const px = Buffer.alloc(size * size * 4);
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sj = 0; sj < SS; sj++) {
        for (let si = 0; si < SS; si++) {
          const x = (i + (si + 0.5) / SS) / size, y = (j + (sj + 0.5) / SS) / size;
          let hit = null;
          for (const sh of list) if (inside(sh.s, x, y)) hit = sh.c;
          if (hit) { r += hit[0]; g += hit[1]; b += hit[2]; a += 1; }
        }
      }
      const o = (j * size + i) * 4;
      if (a) { px[o] = Math.round(r / a); px[o + 1] = Math.round(g / a); px[o + 2] = Math.round(b / a); }
      px[o + 3] = Math.round(255 * a / (SS * SS));
    }
  }
  return px;
}

const CRC = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
function crc32(buf) {
  let c = -1;
  for (const byte of buf) c = CRC[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}
function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);  // 8 bits, RGBA, deflate, no filter method, no interlace
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let j = 0; j < size; j++) rgba.copy(rows, j * (size * 4 + 1) + 1, j * size * 4, (j + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(rows, { level: 9 })), chunk('IEND', Buffer.alloc(0)),
  ]);
}

function svg() {
  const f = (v) => +(v * 512).toFixed(2);
  const rects = shapes(false).map(([x, y, w, h, r, c]) =>
    `<rect x="${f(x)}" y="${f(y)}" width="${f(w)}" height="${f(h)}"${r ? ` rx="${f(r)}"` : ''} fill="${c}"/>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">\n${rects.join('\n')}\n</svg>\n`;
}

fs.writeFileSync(path.join(here, 'icon.svg'), svg());
for (const [name, size, maskable] of [['icon-192.png', 192, false], ['icon-512.png', 512, false], ['icon-maskable-512.png', 512, true]]) {
  fs.writeFileSync(path.join(here, name), png(size, raster(size, maskable)));
  console.log(`${name}: ${size}x${size}`);
}
