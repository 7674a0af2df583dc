// Playground slice: the generation in progress (streamed text), its settings, and whether it runs
// through the trained adapter, the base model, or both side by side.
import type { StateCreator } from 'zustand';

export interface PlaygroundState {
  prompt: string;
  /** The prompt goes through the model's chat template or the instruction template, as the rows were trained (default on). */
  useChat: boolean;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  /** Through the trained adapter (when there is one); false: the base model. */
  adapter: boolean;
  /** Generate with the base model and with the adapter, one after the other, shown side by side. */
  sideBySide: boolean;
  /** The base model's text (or the only text when not side by side). */
  output: string;
  adapterOutput: string;
  /** Which output the streamed tokens belong to. */
  streaming: 'base' | 'adapter' | null;
  generating: boolean;
  error: string | null;
}

export interface PlaygroundSlice {
  playground: PlaygroundState;
  patchPlayground(p: Partial<PlaygroundState>): void;
}

/** The prompt before the user types one; with a dataset, the Playground puts its first validation row there instead. */
export const PLAYGROUND_PROMPT = 'the quick brown';

export const createPlaygroundSlice: StateCreator<PlaygroundSlice, [], [], PlaygroundSlice> = (set) => ({
  playground: {
    prompt: PLAYGROUND_PROMPT, useChat: true, maxNewTokens: 24, temperature: 0, topP: 0.95, adapter: true, sideBySide: false,
    output: '', adapterOutput: '', streaming: null, generating: false, error: null,
  },
  patchPlayground: (p) => set((s) => ({ playground: { ...s.playground, ...p } })),
});
