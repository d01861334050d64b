/**
 * A tray menu as an HTML page, for the pictures in docs/screenshots (scripts/tray-pictures.ts):
 * the menu template of main/tray-menu.ts as a Linux desktop shows it, dropped from a panel with the
 * tray icon, with a chain of submenus open, each beside its item. Only the look is made up here; every
 * label, check mark, radio choice and greyed-out item is the model's.
 */
import type { TrayItem } from '../main/tray-menu.js';

/** Fixed heights (px), so that an open submenu can be placed beside its item without measuring. */
const ITEM = 28;
const SEPARATOR = 9;
const PADDING = 4;
/** The top menu's distance from the panel. */
const MENU_TOP = 4;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function mark(item: TrayItem): string {
  if (!item.checked) return '';
  return item.type === 'radio' ? '●' : item.type === 'checkbox' ? '✓' : '';
}

function itemHtml(item: TrayItem, open: boolean): string {
  if (item.type === 'separator') return '<li class="separator" role="separator"></li>';
  const role =
    item.type === 'checkbox' ? 'menuitemcheckbox' : item.type === 'radio' ? 'menuitemradio' : 'menuitem';
  const checked = role === 'menuitem' ? '' : ` aria-checked="${item.checked}"`;
  const classes = [item.enabled ? '' : 'disabled', open ? 'open' : ''].filter(Boolean).join(' ');
  return (
    `<li role="${role}"${checked} aria-disabled="${!item.enabled}"${classes ? ` class="${classes}"` : ''}>` +
    `<span class="mark">${mark(item)}</span><span class="label">${escapeHtml(item.label)}</span>` +
    `<span class="arrow">${item.submenu ? '›' : ''}</span></li>`
  );
}

const menuHtml = (items: TrayItem[], open: string | undefined, style = '') =>
  `<ul role="menu"${style ? ` style="${style}"` : ''}>${items.map((i) => itemHtml(i, i.label === open)).join('')}</ul>`;

export interface TrayMenuPage {
  items: TrayItem[];
  /** The tray icon, a PNG. */
  icon: Buffer;
  /** The labels of the submenus shown open, from the top: each one in the one before. */
  open?: readonly string[];
}

/** The menus shown: the top one, then each open submenu placed so its first item is beside its own. */
function menusHtml(items: TrayItem[], open: readonly string[]): string {
  let html = '';
  let menu = items;
  let top = MENU_TOP;
  for (let level = 0; ; level++) {
    const label = open[level];
    html += menuHtml(menu, label, level === 0 ? '' : `margin-top: ${top}px`);
    if (label === undefined) return html;
    const index = menu.findIndex((i) => i.label === label && i.submenu);
    if (index < 0) throw new Error(`the menu has no submenu "${label}"`);
    top += menu.slice(0, index).reduce((y, i) => y + (i.type === 'separator' ? SEPARATOR : ITEM), 0);
    menu = menu[index]!.submenu!;
  }
}

/** The page; its element #shot is the picture. */
export function trayMenuHtml({ items, icon, open = [] }: TrayMenuPage): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><style>
  body { margin: 0; background: #fff; font: 13px system-ui, sans-serif; color: #242424; }
  #shot { display: inline-block; padding: 0 24px 24px 0; background: #e8e8e7; }
  .panel { height: 28px; background: #1e1e1e; color: #fff; display: flex; align-items: center; padding: 0 12px; }
  .panel .tray { padding: 4px 6px; border-radius: 6px; background: #4a4a4a; line-height: 0; }
  .panel .clock { margin-left: auto; padding-left: 24px; }
  .menus { display: flex; align-items: flex-start; padding-left: 8px; }
  ul { list-style: none; margin: ${MENU_TOP}px 0 0; padding: ${PADDING}px 0; background: #fff; border-radius: 8px;
       box-shadow: 0 2px 8px rgba(0, 0, 0, 0.25); min-width: 220px; }
  ul + ul { margin-left: 2px; }
  li { height: ${ITEM}px; box-sizing: border-box; display: flex; align-items: center; padding: 0 12px 0 4px;
       white-space: pre; }
  li.open { background: #e1e1e1; }
  li.disabled { color: #9a9a9a; }
  li.separator { height: ${SEPARATOR}px; padding: 0; }
  li.separator::after { content: ''; flex: 1; border-top: 1px solid #dedede; }
  .mark { width: 20px; text-align: center; }
  .label { flex: 1; }
  .arrow { width: 16px; text-align: right; font-size: 16px; }
</style></head><body><div id="shot">
  <div class="panel"><span class="tray"><img alt="" width="16" height="16"
    src="data:image/png;base64,${icon.toString('base64')}"></span><span class="clock">12:00</span></div>
  <div class="menus">${menusHtml(items, open)}</div>
</div></body></html>`;
}
