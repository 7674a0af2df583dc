// Intuition actions: clustering the training prompts now, with the Method step's source, cluster
// count and seed (a run asks for the same again before its first step). The result arrives as the
// worker's 'intuition' event too, so a run's own intuition fills the Clusters view the same way.
import { engineClient, message, useStore } from './store.ts';
import { expertsOf } from '../method.ts';

export async function computeIntuition(projection: 'pca' | 'umap' = 'pca'): Promise<void> {
  const s = useStore.getState();
  const f = s.method;
  const source = f.intuition === 'none' ? 'model' : f.intuition;
  // The old map goes: UMAP frames of the new one animate in its place until the result arrives.
  s.patchIntuition({ computing: true, error: null, progress: null, frame: null, result: null, pointTasks: null, pointTexts: [] });
  try {
    await engineClient().api.intuition({
      source, seed: f.seed, k: f.k || expertsOf(f) || 32, projection, ...(source === 'encoder' && f.encoder.trim() ? { encoder: f.encoder.trim() } : {}),
    });
    useStore.getState().patchIntuition({ computing: false, progress: null });
  } catch (e) {
    useStore.getState().patchIntuition({ computing: false, progress: null, error: message(e) });
  }
}
