// Run checkpoints in the origin-private file system (OPFS), in the shape of llm.c's
// write_checkpoint: the model state (adapter values) and the optimiser state (AdamW moments, the
// guard, the step) in one binary file, the run's metadata (configuration, data cursor, metric
// history) beside it, and a "latest" pointer in run.json switched only after the new checkpoint
// is completely written, so a failure halfway never replaces the last good one.
//   /mor1e-runs/<id>/run.json                 { id, created, config, model, dataset, latest, status, … }
//   /mor1e-runs/<id>/ckpt-<step>/state.bin    every tensor's value, m, v (f32), back to back, then the loss history
//   /mor1e-runs/<id>/ckpt-<step>/meta.json    { version, step, tensors: [{ label, n }], guard, historyLength, cursor, metrics, elapsed }
import type { TrainerState } from './trainer.ts';
import type { MetricRow, RunConfig, RunStatus } from './run.ts';
import type { DataCursor } from '../data/types.ts';

const ROOT = 'mor1e-runs';
const VERSION = 1;

export interface RunRecord {
  id: string;
  created: string;
  updated: string;
  config: RunConfig;
  /** The model and dataset the run trained on, checked on restore. */
  model: { source: string; parameters: number };
  dataset: { name: string; rows: number; train: number };
  /** The intuition request the run used (recomputed identically on restore), or null. */
  intuition: RunConfig['intuition'] | null;
  k: number | null;
  status: RunStatus;
  step: number;
  totalSteps: number;
  latest: string | null;
}

/**
 * The intuition request that recomputes a saved run's scores exactly: its own seed (else the run's),
 * and its centring. Records written before centring existed have no `center` and were computed
 * without it, so a missing `center` means false (the request's own default is true for embeddings).
 */
export function restoredIntuition(rec: Pick<RunRecord, 'intuition' | 'config'>): (NonNullable<RunConfig['intuition']> & { seed: number; center: boolean }) | null {
  if (!rec.intuition) return null;
  return { ...rec.intuition, seed: rec.intuition.seed ?? rec.config.seed, center: rec.intuition.center ?? false };
}

export interface Checkpoint {
  record: RunRecord;
  state: TrainerState;
  cursor: DataCursor;
  metrics: MetricRow[];
  elapsed: number;
}

async function root(): Promise<FileSystemDirectoryHandle> {
  if (typeof navigator === 'undefined' || !navigator.storage?.getDirectory) throw new Error('checkpoints need the origin-private file system (navigator.storage.getDirectory), which this browser lacks');
  return (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT, { create: true });
}

async function writeFile(dir: FileSystemDirectoryHandle, name: string, data: Blob | string): Promise<void> {
  const fh = await dir.getFileHandle(name, { create: true });
  const w = await fh.createWritable();
  try {
    await w.write(data);
    await w.close();
  } catch (e) {
    await w.abort().catch(() => {});
    throw e;
  }
}

async function readJson<T>(dir: FileSystemDirectoryHandle, name: string): Promise<T> {
  return JSON.parse(await (await (await dir.getFileHandle(name)).getFile()).text()) as T;
}

/** Writes a checkpoint, then points run.json at it, then removes the previous one. */
export async function writeCheckpoint(record: Omit<RunRecord, 'latest' | 'updated'>, state: TrainerState, cursor: DataCursor, metrics: MetricRow[], elapsed: number): Promise<RunRecord> {
  const runs = await root();
  const dir = await runs.getDirectoryHandle(record.id, { create: true });
  const previous = await readJson<RunRecord>(dir, 'run.json').then((r) => r.latest, () => null);
  const name = `ckpt-${state.step}`;
  const index = Object.entries(state.tensors).map(([label, t]) => ({ label, n: t.value.length }));
  // The loss history goes in binary too: JSON has no NaN for the losses of skipped steps.
  const parts: Float32Array[] = [...Object.values(state.tensors).flatMap((t) => [t.value, t.m, t.v]), state.history];
  const ck = await dir.getDirectoryHandle(name, { create: true });
  await writeFile(ck, 'state.bin', new Blob(parts as BlobPart[]));
  await writeFile(ck, 'meta.json', JSON.stringify({ version: VERSION, step: state.step, tensors: index, guard: Array.from(state.guard), historyLength: state.history.length, cursor, metrics, elapsed, done: true }));
  const full: RunRecord = { ...record, latest: name, updated: new Date().toISOString() };
  await writeFile(dir, 'run.json', JSON.stringify(full));
  if (previous && previous !== name) await dir.removeEntry(previous, { recursive: true }).catch(() => {});
  return full;
}

export async function listRuns(): Promise<RunRecord[]> {
  const runs = await root();
  const out: RunRecord[] = [];
  for await (const [name, handle] of (runs as unknown as { entries(): AsyncIterable<[string, FileSystemHandle]> }).entries()) {
    if (handle.kind !== 'directory') continue;
    try {
      out.push(await readJson<RunRecord>(handle as FileSystemDirectoryHandle, 'run.json'));
    } catch {
      // a run directory without a finished run.json: nothing to resume from
      void name;
    }
  }
  return out.sort((a, b) => b.updated.localeCompare(a.updated));
}

export async function readCheckpoint(id: string): Promise<Checkpoint> {
  const runs = await root();
  let dir: FileSystemDirectoryHandle;
  try {
    dir = await runs.getDirectoryHandle(id);
  } catch {
    throw new Error(`no saved run "${id}"`);
  }
  const record = await readJson<RunRecord>(dir, 'run.json');
  if (!record.latest) throw new Error(`run "${id}" has no checkpoint yet`);
  const ck = await dir.getDirectoryHandle(record.latest);
  const meta = await readJson<{ version: number; step: number; tensors: Array<{ label: string; n: number }>; guard: number[]; historyLength: number; cursor: DataCursor; metrics: MetricRow[]; elapsed: number; done: boolean }>(ck, 'meta.json');
  if (meta.version !== VERSION || !meta.done) throw new Error(`run "${id}": checkpoint ${record.latest} is not a complete version-${VERSION} checkpoint`);
  const bytes = await (await (await ck.getFileHandle('state.bin')).getFile()).arrayBuffer();
  const all = new Float32Array(bytes);
  const expected = meta.tensors.reduce((a, t) => a + 3 * t.n, 0) + meta.historyLength;
  if (all.length !== expected) throw new Error(`run "${id}": state.bin holds ${all.length} values, the index says ${expected}`);
  const tensors: TrainerState['tensors'] = {};
  let at = 0;
  for (const t of meta.tensors) {
    const take = () => all.slice(at, (at += t.n));
    tensors[t.label] = { value: take(), m: take(), v: take() };
  }
  const history = all.slice(at, at + meta.historyLength);
  // JSON wrote the non-finite losses of skipped steps as null.
  const metrics = meta.metrics.map((r) => ({ ...r, loss: r.loss ?? NaN, gradNorm: r.gradNorm ?? NaN }));
  return { record, state: { step: meta.step, tensors, guard: Uint32Array.from(meta.guard), history }, cursor: meta.cursor, metrics, elapsed: meta.elapsed };
}

export async function deleteRun(id: string): Promise<void> {
  await (await root()).removeEntry(id, { recursive: true });
}
