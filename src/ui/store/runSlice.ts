// Run slice: the training run's state (a few updates a second, from 'run-metrics' events), what it
// is doing before its first step (the intuition), the saved runs, and the last router statistics.
// The metric rows themselves stay out of the store (./metrics.ts): charts draw them on a canvas
// without React re-rendering at the step rate.
import type { StateCreator } from 'zustand';
import type { RunConfig, RunState } from '../../train/run.ts';
import type { RunRecord } from '../../train/checkpoint.ts';
import type { AdapterInfo, FinetuneResult } from '../../worker/api.ts';
import { isRouted } from '../method.ts';

export type RouterStats = FinetuneResult['routerStats'];

/** One reading of the router statistics: each layer's experts' shares of all tokens (1.0 = fair). */
export interface RouterSample {
  step: number;
  shares: number[][];
}

export interface RunUiState {
  state: RunState | null;
  /** The settings of the run in `state`, from the worker's 'adapter' event (the Method form may have changed since the run started or was restored). */
  config: RunConfig | null;
  /** startRun called, not yet running (the intuition may be computing). */
  starting: boolean;
  /** Pause or Stop asked, not yet taken (both act between steps, after a checkpoint). */
  pending: 'pausing' | 'stopping' | null;
  error: string | null;
  saved: RunRecord[];
  /** Latest router statistics of the run (null: none read yet, or the method has no router). */
  routerStats: RouterStats | null;
  routerStatsStep: number;
  /** Readings so far, one per step read (at most MAX_ROUTER_SAMPLES, thinned). */
  routerHistory: RouterSample[];
  /** An adapter loaded from files (Export step or the test API): the active adapter instead of a run's. */
  loaded: AdapterInfo | null;
}

/** Whether generation, evaluation and export have an adapter: a run's (started or restored) or a loaded one. */
export const hasAdapter = (run: RunUiState): boolean => run.state !== null || run.loaded !== null;

/** The run shown has no router (LoRA): its method says so, with or without statistics read. */
export const noRouter = (run: RunUiState): boolean => run.state !== null && run.config !== null && !isRouted(run.config.method);

export const MAX_ROUTER_SAMPLES = 2000;

/** No router readings (a run just shown, or none). */
export const NO_ROUTER_READINGS = { routerStats: null, routerStatsStep: 0, routerHistory: [] } as const satisfies Partial<RunUiState>;

export interface RunSlice {
  run: RunUiState;
  patchRun(p: Partial<RunUiState>): void;
}

export const createRunSlice: StateCreator<RunSlice, [], [], RunSlice> = (set) => ({
  run: { state: null, config: null, starting: false, pending: null, error: null, saved: [], ...NO_ROUTER_READINGS, routerHistory: [], loaded: null },
  patchRun: (p) => set((s) => ({ run: { ...s.run, ...p } })),
});
