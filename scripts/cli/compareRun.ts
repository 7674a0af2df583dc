// The comparison behind `npm run compare` (headless Chromium, the app's own worker: compare.ts) and
// `npm run compare:node` (plain Node with Dawn on GPU machines without a browser: compare-node.ts):
// every method trained on the same data, for the same steps, with the same seeds, each adapter
// evaluated per task; RESULTS.md gets the table in the shape of the paper's main table (methods x
// tasks, the mean, trainable parameters, wall time), the spread over seeds, and the paired
// difference of every method to LoRA. The base model is evaluated once (greedy decoding does not
// depend on a seed); the intuition's embeddings are computed once and reused (EmbeddingCache).
// This module knows neither Playwright nor Vite: the host hands it a CompareDriver.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { EvalResult } from '../../src/train/evaluate.ts';
import type { MetricRow, RunConfig, RunState } from '../../src/train/run.ts';
import type { ImportOptions, ImportResult } from '../../src/data/types.ts';
import type { EvaluateRequest, ModelSource } from '../../src/worker/api.ts';
import { CliError, COMPARE_VARIANTS, EXIT, MODEL_MOUNT, compareRunConfig, columnsText, dataImportMessage, dataMount, importOf, unknownShapeMessage, modelName, modelSourceOf, type CompareOptions, type CompareVariant } from './options.ts';
import { describeGpu, type GpuInfo, type Mounts } from './host.ts';
import { ProgressBar, formatDuration, recentLoss } from './progress.ts';
import { evalFile, type EvalFile } from './evalFile.ts';

const log = (s: string) => process.stdout.write(s + '\n');
const TERMINAL: RunState['status'][] = ['finished', 'stopped', 'failed'];

/** One trained adapter: a method at a seed. */
export interface CompareRun {
  variant: string;
  seed: number;
  eval: EvalFile;
  /** Mean training loss of the first and of the last 10 steps. */
  loss: { first: number | null; last: number | null };
  skipped: number;
}

/** What RESULTS.json holds, and RESULTS.md is written from. */
export interface CompareDoc {
  date: string;
  model: string;
  data: string;
  adapter: string;
  /** Where it ran: 'chromium' (npm run compare) or 'node-dawn' (npm run compare:node); absent in older files. */
  runner?: string;
  settings: {
    steps: number | null; epochs: number | null; batch: number; accumulate: number; lr: number; schedule: string; warmup: number; maxLen: number; evalLimit: number | null; intuitionLayer: number | null;
    /** Methods trained at their own learning rate instead of `lr` (--lr-for); absent when none. */
    lrFor?: Record<string, number>;
  };
  seeds: number[];
  variants: Array<{ id: string; label: string }>;
  tasks: string[];
  /** The base model's accuracy per task (n rows each), and its mean. */
  base: { tasks: Record<string, { n: number; accuracy: number }>; mean: number };
  runs: CompareRun[];
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n − 1); 0 for one value. */
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pct = (x: number) => (100 * x).toFixed(1);
const cell = (xs: number[]) => (xs.length > 1 ? `${pct(mean(xs))} ± ${pct(sd(xs))}` : pct(xs[0]));

/** The Markdown report. A hand-written section between the notes markers of an earlier file is kept. */
export function resultsMarkdown(doc: CompareDoc, keptNotes: string | null, jsonName = 'RESULTS.json'): string {
  const L: string[] = [];
  const s = doc.settings;
  const own = s.lrFor ?? {};
  // A method at its own learning rate says so wherever it is named.
  const labelOf = (v: { id: string; label: string }) => (own[v.id] !== undefined ? `${v.label}, lr ${own[v.id]}` : v.label);
  const ownText = Object.keys(own).length ? `; at their own lr: ${doc.variants.filter((v) => own[v.id] !== undefined).map((v) => `${v.label} ${own[v.id]}`).join(', ')}` : '';
  const length = s.steps !== null ? `${s.steps} steps` : `${s.epochs} epochs`;
  L.push('# Results: every method on the bundled suite, the same data, steps and seeds', '');
  const command = doc.runner === 'node-dawn' ? 'npm run compare:node' : 'npm run compare';
  L.push(`Written by \`${command}\`${doc.runner === 'node-dawn' ? ' (Node, Dawn)' : ''} on ${doc.date}. Model \`${doc.model}\`, data \`${doc.data}\`, GPU adapter **${doc.adapter}**.`);
  L.push(
    `Each method: ${length} of ${s.batch}${s.accumulate > 1 ? ` x ${s.accumulate}` : ''} rows, AdamW lr ${s.lr}${ownText} (${s.schedule}, ${s.warmup} warmup steps), max length ${s.maxLen}; ` +
      `seeds ${doc.seeds.join(', ')} (adapter initialisation, data order, the intuition's k-means). Accuracy per task on ` +
      `${s.evalLimit !== null ? `at most ${s.evalLimit}` : 'all'} validation rows (multiple choice: the greedy first token's letter; generative: exact match), ` +
      `in %, mean ± standard deviation over the seeds. The intuition embeds prompts with the base model's block ${s.intuitionLayer ?? '(middle)'}.`,
  );
  L.push('');
  const head = ['method', 'params', ...doc.tasks.map((t) => `\`${t}\``), '**mean**', 'train time'];
  L.push(`| ${head.join(' | ')} |`, `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  L.push(`| base model (no adapter) | 0 | ${doc.tasks.map((t) => pct(doc.base.tasks[t]?.accuracy ?? NaN)).join(' | ')} | **${pct(doc.base.mean)}** | — |`);
  for (const v of doc.variants) {
    const runs = doc.runs.filter((r) => r.variant === v.id);
    if (!runs.length) continue;
    const tasks = doc.tasks.map((t) => cell(runs.map((r) => r.eval.tasks[t]?.after ?? NaN)));
    const params = runs[0].eval.trainable_parameters;
    L.push(`| ${labelOf(v)} | ${params !== null ? params.toLocaleString('en-US') : '?'} | ${tasks.join(' | ')} | **${cell(runs.map((r) => r.eval.mean.after))}** | ${formatDuration(mean(runs.map((r) => r.eval.seconds)))} |`);
  }
  L.push('');

  // Paired differences to LoRA: the same seed shares the data order, so the difference per seed is the fair comparison.
  const lora = doc.runs.filter((r) => r.variant === 'lora');
  if (lora.length) {
    L.push('## Against LoRA, seed by seed', '');
    L.push('Mean accuracy minus LoRA\'s at the same seed (percentage points). "Clear" means every seed agrees in sign and the mean difference is more than twice its standard error; otherwise the difference is within the seed-to-seed noise.', '');
    L.push('| method | per seed | mean difference | reading |', '|---|---|---:|---|');
    for (const v of doc.variants) {
      if (v.id === 'lora') continue;
      const d: number[] = [];
      for (const r of doc.runs.filter((x) => x.variant === v.id)) {
        const base = lora.find((x) => x.seed === r.seed);
        if (base) d.push(r.eval.mean.after - base.eval.mean.after);
      }
      if (!d.length) continue;
      const m = mean(d), se = d.length > 1 ? sd(d) / Math.sqrt(d.length) : Infinity;
      const clear = d.length > 1 && (d.every((x) => x > 0) || d.every((x) => x < 0)) && Math.abs(m) > 2 * se;
      const reading = clear ? (m > 0 ? 'clearly better' : 'clearly worse') : d.length > 1 ? 'within the noise' : 'one seed: no reading';
      L.push(`| ${labelOf(v)} | ${d.map((x) => (x >= 0 ? '+' : '') + pct(x)).join(', ')} | ${(m >= 0 ? '+' : '') + pct(m)} | ${reading} |`);
    }
    L.push('');
  }

  L.push('## Per seed', '');
  L.push(`| method | ${doc.seeds.map((x) => `seed ${x}`).join(' | ')} | training loss (first 10 → last 10 steps, seed ${doc.seeds[0]}) |`, `|---|${doc.seeds.map(() => '---:').join('|')}|---|`);
  for (const v of doc.variants) {
    const runs = doc.runs.filter((r) => r.variant === v.id);
    if (!runs.length) continue;
    const first = runs.find((r) => r.seed === doc.seeds[0]);
    const loss = first && first.loss.first !== null && first.loss.last !== null ? `${first.loss.first.toFixed(3)} → ${first.loss.last.toFixed(3)}` : '—';
    L.push(`| ${labelOf(v)} | ${doc.seeds.map((sd0) => { const r = runs.find((x) => x.seed === sd0); return r ? pct(r.eval.mean.after) : '—'; }).join(' | ')} | ${loss} |`);
  }
  L.push('');
  L.push('## Notes', '', '<!-- notes: kept when the file is written again -->');
  L.push(keptNotes?.trim() || '(No notes yet: what the table shows and why goes here.)');
  L.push('<!-- /notes -->', '');
  L.push(`Every number: \`${jsonName}\` beside this file. Reproduce: \`${command}\` (options: \`npm run compare -- --help\`; \`--continue\` adds seeds or methods to this file).`, '');
  return L.join('\n');
}

/** The hand-written notes of an existing RESULTS.md (between the markers), or null. */
export function keptNotesOf(path: string): string | null {
  if (!existsSync(path)) return null;
  const text = readFileSync(path, 'utf8');
  const m = /<!-- notes[^>]*-->\n([\s\S]*?)\n<!-- \/notes -->/.exec(text);
  if (!m || m[1].startsWith('(No notes yet')) return null;
  return m[1];
}

/**
 * --continue: an earlier results file's runs, when they were made the same way (model, data,
 * adapter, runner, settings, tasks); otherwise what differs, so the file is left alone.
 */
export function continuedRuns(prev: CompareDoc, doc: CompareDoc): { runs: CompareRun[] } | { differs: string } {
  const fields: Array<[string, unknown, unknown]> = [
    ['model', prev.model, doc.model], ['data', prev.data, doc.data], ['GPU adapter', prev.adapter, doc.adapter], ['runner', prev.runner ?? 'chromium', doc.runner ?? 'chromium'],
    ['settings', JSON.stringify(prev.settings), JSON.stringify(doc.settings)], ['tasks', prev.tasks.join(','), doc.tasks.join(',')],
  ];
  for (const [name, a, b] of fields) if (a !== b) return { differs: `${name}: ${String(a)} in the file, ${String(b)} now` };
  return { runs: prev.runs };
}

/** The seeds and methods of a document holding `runs` and the ones asked for now, in order. */
export function mergedLists(runs: CompareRun[], seeds: number[], variants: string[]): { seeds: number[]; variants: Array<{ id: string; label: string }> } {
  const allSeeds = [...new Set([...runs.map((r) => r.seed), ...seeds])].sort((a, b) => a - b);
  const ids = new Set([...runs.map((r) => r.variant), ...variants]);
  return { seeds: allSeeds, variants: COMPARE_VARIANTS.filter((v) => ids.has(v.id)).map((v) => ({ id: v.id, label: v.label })) };
}

/** What a comparison needs from the engine: window.mor1e in the page, or the engine itself in Node. */
export interface CompareDriver {
  gpu: GpuInfo;
  /** CompareDoc.runner. */
  runner: 'chromium' | 'node-dawn';
  /** How often a training run's state is polled (ms). */
  pollMs: number;
  loadModel(source: string | ModelSource): Promise<unknown>;
  importDataset(input: { url: string }, options: ImportOptions): Promise<ImportResult>;
  evaluate(req: EvaluateRequest): Promise<EvalResult>;
  startRun(config: RunConfig): Promise<unknown>;
  runState(): Promise<RunState>;
  /** Metric rows from index `from` on, and how many there are in all. */
  metricsFrom(from: number): Promise<{ total: number; rows: MetricRow[] }>;
  close(): Promise<void>;
}

/** The local files a comparison reads, under the URLs its host serves them at. */
export function compareMounts(o: CompareOptions): Mounts {
  const b = o.base;
  const mounts: Mounts = {};
  if (b.model.kind === 'folder') mounts[MODEL_MOUNT] = { dir: b.model.path };
  if (b.data) mounts[dataMount(b.data, 'train')] = { file: b.data };
  if (b.evalData) mounts[dataMount(b.evalData, 'validation')] = { file: b.evalData };
  return mounts;
}

async function trainOne(driver: CompareDriver, cfg: RunConfig, label: string): Promise<{ state: RunState; rows: MetricRow[] }> {
  await driver.startRun(cfg).catch((e: Error) => {
    throw new CliError(`${label}: the run was refused: ${e.message.replace(/^Error: /, '')}`, EXIT.failed);
  });
  let state: RunState;
  const bar = new ProgressBar(process.stdout);
  const losses: number[] = [];
  let seen = 0;
  for (;;) {
    state = await driver.runState();
    const m = await driver.metricsFrom(seen);
    for (const r of m.rows) losses.push(r.loss);
    seen = m.total;
    const ended = TERMINAL.includes(state.status);
    bar.update({ step: state.step, total: state.totalSteps, loss: recentLoss(losses), tokensPerSecond: state.tokensPerSecond, etaSeconds: state.step > 0 && state.tokensPerSecond > 0 ? state.etaSeconds : null, skipped: state.skipped, status: state.status }, ended);
    if (ended) break;
    await new Promise((r) => setTimeout(r, driver.pollMs));
  }
  bar.done();
  return { state, rows: (await driver.metricsFrom(0)).rows };
}

/**
 * Runs a comparison through a host's driver: `open` starts the host (it is handed the mounts) and
 * returns the driver; interruption (Ctrl-C) stops after closing it. Returns the exit status.
 */
export async function runCompare(o: CompareOptions, root: string, open: (mounts: Mounts) => Promise<CompareDriver>): Promise<number> {
  const b = o.base;
  let driver: CompareDriver | null = null;
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write('\ncompare: Ctrl-C — stopping (the runs finished so far are in the results file)\n');
    void driver?.close().finally(() => process.exit(EXIT.interrupted));
  };
  process.on('SIGINT', onSigint);
  const t0 = Date.now();
  try {
    log(`compare: ${o.variants.length} methods x ${o.seeds.length} seeds on ${modelName(b.model)} → ${relative(process.cwd(), o.results) || o.results}`);
    driver = await open(compareMounts(o));
    const gpu = driver.gpu;
    log(describeGpu(gpu));
    await driver.loadModel(modelSourceOf(b.model, MODEL_MOUNT, b.hubUrl)).catch((e: Error) => {
      throw new CliError(`--model ${modelName(b.model)}: ${e.message.replace(/^Error: /, '')}`);
    });
    const imp = importOf(b);
    const data: ImportResult = await driver.importDataset(imp.input, imp.options).catch((e: Error) => {
      throw new CliError(dataImportMessage(b, e.message));
    });
    if (data.shape === 'unknown') throw new CliError(unknownShapeMessage(b.data!, data.columns ?? []));
    if (data.validation === 0) throw new CliError('the data has no validation rows (give --eval-data, or more rows per task)');
    log(`data: ${data.name}: ${data.train} train, ${data.validation} validation rows, ${Object.keys(data.tasks).length} tasks`);
    const evalReq = { split: 'validation' as const, ...(b.evalLimit !== null ? { limit: b.evalLimit } : {}) };
    let t = Date.now();
    const before: EvalResult = await driver.evaluate({ ...evalReq, adapter: false });
    log(`base model: mean accuracy ${pct(before.mean)}% (${formatDuration((Date.now() - t) / 1000)})`);

    const doc: CompareDoc = {
      date: new Date().toISOString().slice(0, 10), model: modelName(b.model), data: b.data ? `${relative(root, b.data)}${b.columns ? ` (--columns ${columnsText(b.columns)})` : ''}` : 'public/data/suite (train.jsonl, validation.jsonl)', adapter: gpu.adapterName, runner: driver.runner,
      settings: {
        steps: b.steps ?? null, epochs: b.epochs ?? null, batch: b.batch, accumulate: b.accumulate, lr: b.lr, schedule: b.schedule, warmup: b.warmup, maxLen: b.maxLen, evalLimit: b.evalLimit, intuitionLayer: b.intuitionLayer ?? null,
        ...(Object.keys(o.lrFor).length ? { lrFor: o.lrFor } : {}),
      },
      seeds: o.seeds, variants: o.variants.map((v) => ({ id: v.id, label: v.label })), tasks: Object.keys(before.tasks),
      base: { tasks: Object.fromEntries(Object.entries(before.tasks).map(([k, v]) => [k, { n: v.n, accuracy: v.accuracy }])), mean: before.mean }, runs: [],
    };
    if (o.continue) {
      if (!existsSync(o.json)) log(`--continue: no ${relative(process.cwd(), o.json) || o.json} yet; starting it`);
      else {
        let prev: CompareDoc;
        try {
          prev = JSON.parse(readFileSync(o.json, 'utf8')) as CompareDoc;
        } catch (e) {
          throw new CliError(`--continue: ${o.json} is not a results file: ${e instanceof Error ? e.message : e}`);
        }
        const kept = continuedRuns(prev, doc);
        if ('differs' in kept) throw new CliError(`--continue: ${o.json} was made differently (${kept.differs}); it is left as it is (give another --results, or drop --continue to replace it)`);
        doc.runs = kept.runs;
        Object.assign(doc, mergedLists(kept.runs, o.seeds, o.variants.map((v) => v.id)));
        log(`--continue: keeping ${kept.runs.length} runs from ${relative(process.cwd(), o.json) || o.json}`);
      }
    }
    const notes = keptNotesOf(o.results);
    mkdirSync(dirname(o.results), { recursive: true });
    const save = () => {
      writeFileSync(o.json, JSON.stringify(doc, null, 1) + '\n');
      writeFileSync(o.results, resultsMarkdown(doc, notes, basename(o.json)));
    };
    for (const seed of o.seeds)
      for (const v of o.variants as CompareVariant[]) {
        if (interrupted) return EXIT.interrupted;
        if (doc.runs.some((r) => r.seed === seed && r.variant === v.id)) continue;
        const cfg = compareRunConfig(b, v, seed, o.lrFor[v.id] ?? b.lr);
        log(`\n[seed ${seed}] ${v.label}${cfg.intuition ? ' (intuition: the base model\'s embeddings, k-means at this seed)' : ''}`);
        t = Date.now();
        const { state, rows } = await trainOne(driver, cfg, `${v.id} (seed ${seed})`);
        if (state.status !== 'finished') throw new CliError(`${v.id} (seed ${seed}): the run ${state.status} at step ${state.step}${state.error ? `: ${state.error}` : ''}`, EXIT.failed);
        const after: EvalResult = await driver.evaluate({ ...evalReq, adapter: true });
        const trainSeconds = rows.length ? rows[rows.length - 1].seconds : 0;
        const ev = evalFile({ model: doc.model, method: v.id, trainable: state.trainableParameters, steps: state.step, seconds: Math.round(trainSeconds * 10) / 10, adapter: gpu.adapterName }, before, after);
        const run: CompareRun = { variant: v.id, seed, eval: ev, loss: { first: recentLoss(rows.slice(0, 10).map((r) => r.loss)), last: recentLoss(rows.map((r) => r.loss)) }, skipped: state.skipped };
        doc.runs.push(run);
        const dir = join(resolve(b.out), String(seed), v.id);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'eval.json'), JSON.stringify(ev, null, 1) + '\n');
        writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ config: cfg, state, rows }, null, 1));
        save();
        log(`  mean accuracy ${pct(after.mean)}% (base ${pct(before.mean)}%), ${state.trainableParameters.toLocaleString('en-US')} parameters, trained in ${formatDuration(trainSeconds)}, total ${formatDuration((Date.now() - t) / 1000)}`);
      }
    save();
    log(`\ndone in ${formatDuration((Date.now() - t0) / 1000)}: ${relative(process.cwd(), o.results) || o.results} and ${relative(process.cwd(), o.json) || o.json}`);
    return EXIT.ok;
  } catch (e) {
    if (interrupted) return EXIT.interrupted;
    if (e instanceof CliError) {
      process.stderr.write(`compare: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`compare: failed: ${e instanceof Error ? e.message : e}\n`);
    return EXIT.failed;
  } finally {
    await driver?.close();
    process.off('SIGINT', onSigint);
  }
}
