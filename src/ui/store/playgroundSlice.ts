// Playground slice: the generation in progress (streamed text) and its settings.
import type { StateCreator } from 'zustand';

export interface PlaygroundState {
  prompt: string;
  useChat: boolean;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  output: string;
  generating: boolean;
  error: string | null;
}

export interface PlaygroundSlice {
  playground: PlaygroundState;
  patchPlayground(p: Partial<PlaygroundState>): void;
}

export const createPlaygroundSlice: StateCreator<PlaygroundSlice, [], [], PlaygroundSlice> = (set) => ({
  playground: { prompt: 'the quick brown', useChat: false, maxNewTokens: 24, temperature: 0, topP: 0.95, output: '', generating: false, error: null },
  patchPlayground: (p) => set((s) => ({ playground: { ...s.playground, ...p } })),
});
