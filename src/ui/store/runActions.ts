// Training run actions: start (from the Method form), pause, resume, stop, the saved runs in OPFS
// (list, restore to resume after a reload), and the router statistics, read every ~2 s while a
// view that shows them is open and the run is running.
import type { MetricRow, RunState } from '../../train/run.ts';
import type { AdapterFile, AdapterInfo, EngineEvent } from '../../worker/api.ts';
import { appendMetrics, replaceMetrics } from './metrics.ts';
import { engineClient, message, useStore } from './store.ts';
import { MAX_ROUTER_SAMPLES, NO_ROUTER_READINGS, type RouterStats } from './runSlice.ts';
import { checkMethod, firstError, toRunConfig } from '../method.ts';

const api = () => engineClient().api;
const ENDED = ['finished', 'stopped', 'failed'];

/** A state (and rows) about another run than the one shown: a run replaced meanwhile (a restore while it stopped). */
const stale = (state: RunState) => {
  const shown = useStore.getState().run.state;
  return !!shown && shown.id !== state.id;
};

export function onRunMetrics(rows: MetricRow[], state: RunState): void {
  if (stale(state)) return;
  appendMetrics(rows);
  setRunState(state);
}

function setRunState(state: RunState): void {
  if (stale(state)) return;
  const prev = useStore.getState().run.state;
  useStore.getState().patchRun({ state });
  if (prev?.status === 'running' && state.status !== 'running') {
    // A run that just paused or ended has a new checkpoint and its final router statistics; an
    // ended run's last validation loss is written after its last rows went out, so read them all.
    void refreshSavedRuns();
    void readRouterStats();
    if (ENDED.includes(state.status)) void api().metrics().then(replaceMetrics, () => {});
  }
}

/**
 * Makes `state` the run the studio shows. Another run than the one shown (started or restored
 * here, or through window.mor1e) replaces it: its history (none yet for a new run, a restored
 * run's from the worker) and no router readings yet. The same run keeps its newer state: the
 * worker's events and a call's result travel on different ports and may arrive in either order.
 */
function adoptRun(state: RunState): void {
  const s = useStore.getState();
  const cur = s.run.state;
  if (cur && cur.id === state.id) {
    if (state.step >= cur.step) s.patchRun({ state });
    return;
  }
  replaceMetrics([]);
  s.patchRun({ state, ...NO_ROUTER_READINGS, routerHistory: [] });
  if (state.step > 0) void api().metrics().then(replaceMetrics, () => {});
}

/**
 * The worker's active adapter changed (its 'adapter' event; also applied by this module's own
 * calls, the same change twice being harmless). A run's: that run is shown, with its settings. A
 * loaded adapter, or none: the worker freed the last run's adapter (an adapter or a model replaced
 * it), so the run goes here too (its checkpoint stays in the saved runs). Any change makes the
 * last "after" evaluation stale.
 */
export function onAdapterChanged({ source, info, config, state }: Omit<Extract<EngineEvent, { type: 'adapter' }>, 'type'>): void {
  const s = useStore.getState();
  s.patchEval({ after: null });
  if (source === 'run') {
    if (state) adoptRun(state);
    s.patchRun({ loaded: null, config });
    return;
  }
  replaceMetrics([]);
  s.patchRun({ loaded: source === 'loaded' ? info : null, state: null, config: null, ...NO_ROUTER_READINGS, routerHistory: [] });
}

/** Loads an adapter from files (a PEFT LoRA or the mor1e format); resolves to its description, or throws the reason. */
export async function loadAdapterFiles(files: AdapterFile[]): Promise<AdapterInfo> {
  const info = await api().loadAdapter({ kind: 'files', files });
  onAdapterChanged({ source: 'loaded', info, config: null, state: null });
  return info;
}

/** Frees the loaded adapter (and a finished run's); generation and evaluation use the base model again. */
export async function unloadAdapter(): Promise<void> {
  await api().unloadAdapter();
  onAdapterChanged({ source: null, info: null, config: null, state: null });
}

/**
 * Starts a run with the Method step's settings; resolves to its state, or null with the error
 * shown. The last run stays shown (and active in the worker) until the new one replaces it, so a
 * refused start loses nothing.
 */
export async function startRun(): Promise<RunState | null> {
  const s = useStore.getState();
  const check = checkMethod(s.method, { info: s.model.info, data: s.data.result, limits: s.gpu.status === 'ready' ? s.gpu.limits : null });
  const bad = firstError(check);
  if (bad) {
    s.patchRun({ error: `The method settings cannot run: ${bad}` });
    return null;
  }
  s.patchRun({ starting: true, error: null });
  const config = toRunConfig(s.method);
  // A run that asks for an intuition computes it again: its map replaces the one shown.
  s.patchIntuition(config.intuition ? { progress: null, result: null, frame: null, pointTasks: null, pointTexts: [] } : { progress: null });
  try {
    const state = await api().startRun(config);
    adoptRun(state);
    useStore.getState().patchRun({ starting: false });
    return state;
  } catch (e) {
    useStore.getState().patchRun({ starting: false, error: message(e) });
    return null;
  } finally {
    useStore.getState().patchIntuition({ progress: null });
  }
}

async function control(f: () => Promise<RunState>): Promise<RunState | null> {
  try {
    const state = await f();
    useStore.getState().patchRun({ error: null });
    setRunState(state);
    return state;
  } catch (e) {
    useStore.getState().patchRun({ error: message(e) });
    return null;
  }
}

/**
 * Pausing takes effect between steps, after the checkpoint is written, and the worker sends no
 * event for it when no new rows are pending; so the state is read until the run has settled.
 */
/** Clears the pending Pause or Stop if it is still `which` (a Stop pressed while pausing takes over). */
const settled = (which: 'pausing' | 'stopping') => {
  if (useStore.getState().run.pending === which) useStore.getState().patchRun({ pending: null });
};

export async function pauseRun(): Promise<RunState | null> {
  useStore.getState().patchRun({ pending: 'pausing' });
  try {
    let st = await control(() => api().pauseRun());
    while (st && st.status === 'running') {
      await new Promise((r) => setTimeout(r, 400));
      try {
        st = await api().runState();
      } catch {
        return null;
      }
      if (st.status !== 'running' || st.step !== useStore.getState().run.state?.step) setRunState(st);
    }
    return st;
  } finally {
    settled('pausing');
  }
}

export const resumeRun = () => control(() => api().resumeRun());

/** Stops the run; resolves when it has ended (after the step in progress and a checkpoint). */
export async function stopRun(): Promise<RunState | null> {
  useStore.getState().patchRun({ pending: 'stopping' });
  try {
    return await control(() => api().stopRun());
  } finally {
    settled('stopping');
  }
}

export async function refreshSavedRuns(): Promise<void> {
  try {
    const saved = await api().runs();
    saved.sort((a, b) => b.updated.localeCompare(a.updated));
    useStore.getState().patchRun({ saved });
  } catch {
    // No OPFS in this browser: nothing to list (a run still trains; its checkpoint write reports the problem).
  }
}

/** Restores a saved run, paused at its checkpoint (a finished one finished), with its metric history; resumeRun continues it. */
export async function restoreRun(id: string): Promise<RunState | null> {
  const s = useStore.getState();
  s.patchRun({ starting: true, error: null });
  try {
    const state = await api().restoreRun(id);
    adoptRun(state);
    useStore.getState().patchRun({ starting: false });
    useStore.getState().patchEval({ after: null });
    return state;
  } catch (e) {
    useStore.getState().patchRun({ starting: false, error: message(e) });
    return null;
  }
}

let reading = false;

/**
 * A read that overlaps a step whose batch has another task count can come back with the layer's
 * previous, shorter buffer: its trailing groups are then missing values. Keep each layer's groups
 * up to the first incomplete one (group indices are task indices, so nothing may shift).
 */
function cleanStats(stats: RouterStats): RouterStats {
  return stats.map((l) => {
    const ok = (g: RouterStats[number]['groups'][number]) =>
      Number.isFinite(g.entropy) && Number.isFinite(g.tokens) && g.f.length === l.E && g.f.every(Number.isFinite) && g.P.every(Number.isFinite) && g.G.every(Number.isFinite);
    const bad = l.groups.findIndex((g) => !ok(g));
    return { ...l, balance: Number.isFinite(l.balance) ? l.balance : NaN, groups: bad < 0 ? l.groups : l.groups.slice(0, bad) };
  }).filter((l) => l.groups.length > 0);
}

/** Reads the run's router statistics once (skipped while a read is in flight). */
export async function readRouterStats(): Promise<void> {
  const st = useStore.getState().run.state;
  if (!st || reading) return;
  reading = true;
  try {
    const stats = cleanStats(await api().routerStats());
    const run = useStore.getState().run;
    let history = run.routerHistory;
    if (stats.length && st.step > 0 && history[history.length - 1]?.step !== st.step) {
      history = [...history, { step: st.step, shares: stats.map((l) => l.groups[0].f.map((f) => f * l.E)) }];
      if (history.length > MAX_ROUTER_SAMPLES) history = history.filter((_, i) => i % 2 === 0 || i === history.length - 1);
    }
    useStore.getState().patchRun({ routerStats: stats.length ? stats : null, routerStatsStep: st.step, routerHistory: history });
  } catch {
    // No run in the worker (yet): nothing to show.
  } finally {
    reading = false;
  }
}

/** Reads the router statistics now and every ~2 s while the run is running; returns the stop function. */
export function watchRouterStats(everyMs = 2000): () => void {
  void readRouterStats();
  const timer = setInterval(() => {
    const { state, routerStatsStep } = useStore.getState().run;
    if (state && (state.status === 'running' || state.step !== routerStatsStep)) void readRouterStats();
  }, everyMs);
  return () => clearInterval(timer);
}

export const runEnded = (st: RunState | null) => !!st && ENDED.includes(st.status);
