// bench/results.json: one list of rows { bench, shape, adapter, ...figures }. New rows replace
// old rows with the same bench, shape, method, adapter and runner; everything else is kept.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const RESULTS_PATH = new URL('./results.json', import.meta.url);

const key = (r) => [r.bench, r.shape, r.method ?? '', r.adapter, r.runner ?? 'chromium'].join('|');

export function mergeRows(rows, path = RESULTS_PATH) {
  const old = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : { rows: [] };
  const fresh = new Set(rows.map(key));
  const merged = { updated: new Date().toISOString(), rows: [...old.rows.filter((r) => !fresh.has(key(r))), ...rows] };
  writeFileSync(path, JSON.stringify(merged, null, 2) + '\n');
  return merged;
}
