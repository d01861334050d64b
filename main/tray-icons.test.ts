import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, PNG_SIGNATURE } from './png.js';
import { iconFiles, renderIcon, trayIconFile } from './tray-icons.js';

const asset = (name: string) => readFileSync(new URL(`../assets/${name}`, import.meta.url));

/** Reads a PNG strictly enough to catch a bad encoder: chunks, CRCs, IHDR, pixels (filter 0). */
function decode(png: Buffer) {
  expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
  const chunks: { type: string; data: Buffer }[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    expect(png.readUInt32BE(at + 8 + length), `${type} CRC`).toBe(
      crc32(png.subarray(at + 4, at + 8 + length)),
    );
    chunks.push({ type, data });
    at += 12 + length;
  }
  expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
  const ihdr = chunks[0]!.data;
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  expect([...ihdr.subarray(8)]).toEqual([8, 6, 0, 0, 0]); // 8-bit RGBA, no interlace
  const rows = inflateSync(chunks[1]!.data);
  expect(rows.length).toBe(height * (1 + width * 4));
  const pixels: number[][] = [];
  for (let y = 0; y < height; y++) {
    const row = rows.subarray(y * (1 + width * 4), (y + 1) * (1 + width * 4));
    expect(row[0]).toBe(0);
    for (let x = 0; x < width; x++) pixels.push([...row.subarray(1 + x * 4, 5 + x * 4)]);
  }
  return { width, height, pixels };
}

describe('tray icons', () => {
  it('has every state at 16 and 32 pixels, coloured and as macOS templates', () => {
    expect(iconFiles().map((f) => f.name)).toEqual([
      'tray-disconnected.png',
      'tray-disconnected@2x.png',
      'tray-disconnectedTemplate.png',
      'tray-disconnectedTemplate@2x.png',
      'tray-connected.png',
      'tray-connected@2x.png',
      'tray-connectedTemplate.png',
      'tray-connectedTemplate@2x.png',
      'tray-exit-node.png',
      'tray-exit-node@2x.png',
      'tray-exit-nodeTemplate.png',
      'tray-exit-nodeTemplate@2x.png',
    ]);
    expect(trayIconFile('connected', 'darwin')).toBe('tray-connectedTemplate.png');
    expect(trayIconFile('exit-node', 'linux')).toBe('tray-exit-node.png');
  });

  it.each(iconFiles())('$name is a valid PNG of its size, as committed', ({ name, kind, size, template }) => {
    const png = asset(name);
    const { width, height, pixels } = decode(png);
    expect([width, height]).toEqual([size, size]);
    const drawn = pixels.filter((p) => p[3]! > 0);
    expect(drawn.length).toBeGreaterThan(size * size * 0.1); // not blank
    expect(drawn.length).toBeLessThan(size * size * 0.9); // not a square
    if (template) for (const [r, g, b] of pixels) expect([r, g, b]).toEqual([0, 0, 0]);
    else expect(drawn.some(([r, g, b]) => r! + g! + b! > 0)).toBe(true); // coloured, not black
    expect(png.equals(renderIcon(kind, size, template)), 'run: npx tsx assets/generate-icons.ts').toBe(true);
  });

  it('draws the three states differently', () => {
    const alpha = (kind: 'disconnected' | 'connected' | 'exit-node') =>
      decode(renderIcon(kind, 32, true)).pixels.map((p) => p[3]);
    expect(alpha('disconnected')).not.toEqual(alpha('connected'));
    expect(alpha('connected')).not.toEqual(alpha('exit-node'));
  });
});
