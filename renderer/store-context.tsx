/** Hands the one store to the components (a context, so tests and pages can give their own). */
import { createContext, type ReactNode, useContext } from 'react';
import { useStore } from 'zustand';
import type { BurrowState, BurrowStore } from './store.js';

const StoreContext = createContext<BurrowStore | null>(null);

export function BurrowProvider({ store, children }: { store: BurrowStore; children: ReactNode }) {
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

/** One slice of the state; select single values (or stable ones) so unrelated changes do not re-render. */
export function useBurrow<T>(selector: (state: BurrowState) => T): T {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useBurrow needs a BurrowProvider above it');
  return useStore(store, selector);
}
