/**
 * Writes the tray icons (main/tray-icons.ts draws them) into assets/. The PNGs are committed; run
 * this after changing the drawing: npx tsx assets/generate-icons.ts
 * (main/tray-icons.test.ts fails while the committed files differ from the drawing).
 */
import { writeFileSync } from 'node:fs';
import { iconFiles, renderIcon } from '../main/tray-icons.js';

for (const { name, kind, size, template } of iconFiles()) {
  writeFileSync(new URL(name, import.meta.url), renderIcon(kind, size, template));
  process.stdout.write(`assets/${name}\n`);
}
