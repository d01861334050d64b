/**
 * The window's preload (sandboxed, context-isolated): exposes `window.burrow` and nothing else.
 * Sandboxed preloads cannot import modules, so this file ships bundled (with preload-api.ts and
 * the IPC schema) as one CommonJS file. The logic is in preload-api.ts, tested under Node.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { createBurrowApi } from './preload-api.js';

contextBridge.exposeInMainWorld('burrow', createBurrowApi(ipcRenderer));
