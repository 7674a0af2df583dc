// Method slice: the adapter and training settings as the form holds them (numbers as numbers,
// choices as their names). Turning them into a RunConfig, and checking them, lives in ../method.ts.
import type { StateCreator } from 'zustand';
import { defaultForm, presetOf, type MethodForm } from '../method.ts';
import type { AdapterMethod } from '../../adapters/spec.ts';

export interface MethodSlice {
  method: MethodForm;
  patchMethod(p: Partial<MethodForm>): void;
  /** Switches the method and resets its sizes and routing to that method's defaults; training settings stay. */
  applyPreset(m: AdapterMethod): void;
}

export const createMethodSlice: StateCreator<MethodSlice, [], [], MethodSlice> = (set) => ({
  method: defaultForm(),
  patchMethod: (p) => set((s) => ({ method: { ...s.method, ...p } })),
  applyPreset: (m) => set((s) => ({ method: { ...s.method, ...presetOf(m) } })),
});
