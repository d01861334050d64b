/** The UI's entry: pick the API (Electron preload or web mode), build the store, render, start. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { pickApi } from './api.js';
import { App } from './components/app.js';
import { createBurrowStore } from './store.js';
import { BurrowProvider } from './store-context.js';

// Problems found before the store exists cannot happen: the API reports only after `start`.
const api = pickApi((error) => store.getState().report(error));
const store = createBurrowStore(api);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <BurrowProvider store={store}>
      <App />
    </BurrowProvider>
  </StrictMode>,
);
store.getState().start();
