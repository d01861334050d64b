/**
 * The tray icons, drawn in code (assets/generate-icons.ts writes them to assets/): a burrow, a
 * hill over the ground with its entrance, in one of three states. Disconnected: the hill's
 * outline. Connected: the hill filled. Exit node in use: filled, with a dot above (traffic leaves
 * elsewhere). Each comes at 16 and 32 pixels (@2x), coloured for Linux and Windows, and as macOS
 * template images (black and alpha only: the system tints them for light and dark menu bars).
 */
import { encodePng } from './png.js';

export const ICON_KINDS = ['disconnected', 'connected', 'exit-node'] as const;
export type IconKind = (typeof ICON_KINDS)[number];

export interface IconFile {
  name: string;
  kind: IconKind;
  size: 16 | 32;
  template: boolean;
}

/** The file the tray loads for a state; Electron picks the @2x file on HiDPI screens itself. */
export function trayIconFile(kind: IconKind, platform: NodeJS.Platform): string {
  return `tray-${kind}${platform === 'darwin' ? 'Template' : ''}.png`;
}

export function iconFiles(): IconFile[] {
  return ICON_KINDS.flatMap((kind) =>
    [false, true].flatMap((template) =>
      ([16, 32] as const).map((size) => ({
        name: `tray-${kind}${template ? 'Template' : ''}${size === 32 ? '@2x' : ''}.png`,
        kind,
        size,
        template,
      })),
    ),
  );
}

type Rgb = readonly [number, number, number];
/** Whether a point of the unit square (y down) is inside a shape. */
type Shape = (x: number, y: number) => boolean;

const GROUND = 0.82;
const disc =
  (cx: number, cy: number, r: number): Shape =>
  (x, y) =>
    (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
const above: Shape = (_x, y) => y <= GROUND;
const ground: Shape = (x, y) => y >= GROUND && y <= 0.94 && x >= 0.02 && x <= 0.98;
const hill = disc(0.5, GROUND, 0.46);
const hillInside = disc(0.5, GROUND, 0.35);
const entrance = disc(0.5, GROUND, 0.17);
const dot = disc(0.82, 0.17, 0.14);

const GREY: Rgb = [0x8a, 0x8a, 0x8a];
const EARTH: Rgb = [0x8b, 0x5a, 0x2b];
const GREEN: Rgb = [0x2e, 0x9e, 0x5b];
const BLUE: Rgb = [0x2f, 0x7d, 0xe1];

/** Layers drawn in order, each a shape and its colour. */
function layers(kind: IconKind): [Shape, Rgb][] {
  if (kind === 'disconnected')
    return [
      [(x, y) => above(x, y) && hill(x, y) && !hillInside(x, y), GREY],
      [ground, GREY],
    ];
  const filled: [Shape, Rgb][] = [
    [(x, y) => above(x, y) && hill(x, y) && !entrance(x, y), GREEN],
    [ground, EARTH],
  ];
  return kind === 'exit-node' ? [...filled, [dot, BLUE]] : filled;
}

/** 4x4 samples per pixel, for smooth edges. */
const SAMPLES = 4;

export function renderIcon(kind: IconKind, size: number, template: boolean): Buffer {
  const rgba = new Uint8Array(size * size * 4);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      // Composite the layers ("over"), premultiplied, one sample at a time.
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < SAMPLES; sy++) {
        for (let sx = 0; sx < SAMPLES; sx++) {
          const x = (px + (sx + 0.5) / SAMPLES) / size;
          const y = (py + (sy + 0.5) / SAMPLES) / size;
          const hit = layers(kind).findLast(([shape]) => shape(x, y));
          if (hit === undefined) continue;
          const colour = template ? ([0, 0, 0] as const) : hit[1];
          r += colour[0];
          g += colour[1];
          b += colour[2];
          a += 1;
        }
      }
      const at = (py * size + px) * 4;
      if (a > 0) rgba.set([Math.round(r / a), Math.round(g / a), Math.round(b / a)], at);
      rgba[at + 3] = Math.round((a / SAMPLES ** 2) * 255);
    }
  }
  return encodePng(size, size, rgba);
}
