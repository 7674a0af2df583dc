// npm run finetune -- [options]: a training run of the app's own engine in headless Chromium
// (see options.ts for the options, README "Headless finetuning" for the files it writes).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import type { EvalResult } from '../../src/train/evaluate.ts';
import type { MetricRow, RunConfig, RunState } from '../../src/train/run.ts';
import type { ImportResult } from '../../src/data/types.ts';
import type { RunRecord } from '../../src/train/checkpoint.ts';
import type { ModelInfo } from '../../src/worker/api.ts';
import {
  CliError, EXIT, ENCODER_MOUNT, FINETUNE_HELP, MODEL_MOUNT, dataMount, importOf, dataImportMessage, unknownShapeMessage, modelName, modelSourceOf, parseFinetuneArgs, optionsOrExit, runConfigOf,
} from './options.ts';
import { describeGpu, fromBase64, openSession, type Mounts, type Session } from './session.ts';
import { exportAdapterFiles, metricsFrom, readRunFolder, writeRunFolder, type B64File } from './pageOps.ts';
import { ProgressBar, formatDuration, recentLoss } from './progress.ts';
import { evalFile } from './evalFile.ts';

const log = (s: string) => process.stdout.write(s + '\n');
const TERMINAL: RunState['status'][] = ['finished', 'stopped', 'failed'];

type RouterStats = Array<{ key: string; E: number; groups: Array<{ f: number[]; P: number[]; G: number[]; entropy: number; tokens: number }>; balance: number }>;
type GroupStats = RouterStats[number]['groups'][number];

/** Router statistics with their groups named: "all", then each task in the dataset's order. */
export function namedRouterStats(stats: RouterStats, tasks: string[]) {
  return stats.map((l) => ({
    layer: l.key,
    E: l.E,
    balance: l.balance,
    groups: Object.fromEntries(l.groups.map((g, i) => [i === 0 ? 'all' : (tasks[i - 1] ?? `task ${i - 1}`), g])),
  }));
}

/**
 * Router statistics over many steps: each sampled step's per-group f, P, G and entropy weighted
 * by its tokens (one step's batch holds only some tasks), and the load balance averaged.
 */
export class RouterAverage {
  private readonly layers = new Map<string, { E: number; balance: number; samples: number; groups: GroupStats[] }>();
  readonly steps: number[] = [];

  add(step: number, stats: RouterStats): void {
    if (!stats.length) return;
    this.steps.push(step);
    for (const l of stats) {
      let a = this.layers.get(l.key);
      if (!a) this.layers.set(l.key, (a = { E: l.E, balance: 0, samples: 0, groups: [] }));
      a.balance += l.balance;
      a.samples++;
      l.groups.forEach((g, i) => {
        const t = (a.groups[i] ??= { f: new Array<number>(l.E).fill(0), P: new Array<number>(l.E).fill(0), G: new Array<number>(l.E).fill(0), entropy: 0, tokens: 0 });
        for (let j = 0; j < l.E; j++) {
          t.f[j] += g.tokens * g.f[j];
          t.P[j] += g.tokens * g.P[j];
          t.G[j] += g.tokens * g.G[j];
        }
        t.entropy += g.tokens * g.entropy;
        t.tokens += g.tokens;
      });
    }
  }

  /** The averages in routerStats() form (groups without tokens stay zero). */
  mean(): RouterStats {
    return [...this.layers].map(([key, a]) => ({
      key, E: a.E, balance: a.balance / a.samples,
      groups: a.groups.map((t) => {
        const w = t.tokens > 0 ? 1 / t.tokens : 0;
        return { f: t.f.map((v) => v * w), P: t.P.map((v) => v * w), G: t.G.map((v) => v * w), entropy: t.entropy * w, tokens: t.tokens };
      }),
    }));
  }
}

function writeFiles(dir: string, files: B64File[]): void {
  const root = resolve(dir);
  for (const f of files) {
    const path = normalize(join(root, f.name));
    if (!path.startsWith(root + sep)) throw new Error(`refusing to write ${f.name} outside ${dir}`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, fromBase64(f.b64));
  }
}

function pct(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '—' : `${(100 * x).toFixed(1)}%`;
}

function printEval(before: EvalResult, after: EvalResult | null): void {
  const tasks = Object.keys(before.tasks);
  const w = Math.max(6, ...tasks.map((t) => t.length));
  log(`  ${'task'.padEnd(w)}  ${'n'.padStart(4)}  ${'before'.padStart(7)}${after ? `  ${'after'.padStart(7)}` : ''}`);
  for (const t of tasks) log(`  ${t.padEnd(w)}  ${String(before.tasks[t].n).padStart(4)}  ${pct(before.tasks[t].accuracy).padStart(7)}${after ? `  ${pct(after.tasks[t]?.accuracy).padStart(7)}` : ''}`);
  log(`  ${'mean'.padEnd(w)}  ${''.padStart(4)}  ${pct(before.mean).padStart(7)}${after ? `  ${pct(after.mean).padStart(7)}` : ''}`);
}

export async function main(argv: string[], root: string): Promise<number> {
  const parsed = optionsOrExit('finetune', () => parseFinetuneArgs(argv), FINETUNE_HELP);
  if ('exit' in parsed) return parsed.exit;
  const o = parsed.options;

  const t0 = Date.now();
  const secs = (since: number) => (Date.now() - since) / 1000;
  const timing: Record<string, number> = {};
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });

  // Ctrl-C: before the run starts, stop at once; during it, pause (which writes the checkpoint),
  // save what there is and exit 130. A second Ctrl-C (a second later) stops without saving.
  let session: Session | null = null;
  let interrupted = false;
  let firstSigint = 0;
  let runStarted = false;
  const onSigint = () => {
    const now = Date.now();
    if (interrupted && now - firstSigint > 1000) {
      process.stderr.write('\nfinetune: stopped without saving\n');
      void session?.close().finally(() => process.exit(EXIT.interrupted));
      return;
    }
    if (interrupted) return; // npm forwards the terminal's signal a second time
    interrupted = true;
    firstSigint = now;
    process.stderr.write(runStarted ? '\nfinetune: Ctrl-C — pausing the run and keeping its checkpoint (Ctrl-C again to stop without saving)…\n' : '\nfinetune: Ctrl-C — stopping\n');
    if (!runStarted) void session?.close();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  const mounts: Mounts = {};
  if (o.model.kind === 'folder') mounts[MODEL_MOUNT] = { dir: o.model.path };
  if (o.encoder?.kind === 'folder') mounts[ENCODER_MOUNT] = { dir: o.encoder.path };
  if (o.data) mounts[dataMount(o.data, 'train')] = { file: o.data };
  if (o.evalData) mounts[dataMount(o.evalData, 'validation')] = { file: o.evalData };

  let stage = 'starting';
  try {
    log(`finetune: ${o.method} on ${modelName(o.model)} → ${o.out}`);
    session = await openSession({ root, port: o.port, mounts, verbose: !!process.env.MOR1E_CLI_VERBOSE });
    const { page, gpu } = session;
    log(describeGpu(gpu));
    if (interrupted) return EXIT.interrupted;

    stage = 'loading the model';
    let t = Date.now();
    const info: ModelInfo = await page.evaluate((src) => window.mor1e!.loadModel(src), modelSourceOf(o.model, MODEL_MOUNT, o.hubUrl)).catch((e: Error) => {
      throw new CliError(`--model ${modelName(o.model)}: ${e.message.replace(/^Error: /, '')}`);
    });
    timing.loadModel = secs(t);
    log(`model: ${info.modelType} (${info.arch}), ${info.layers} layers, hidden ${info.hidden}, ${(info.parameters / 1e6).toFixed(2)}M parameters, ${info.weightMiB.toFixed(1)} MiB on the GPU (${timing.loadModel.toFixed(1)} s)`);
    if (o.encoder) {
      stage = 'loading the encoder';
      const enc = o.encoder;
      await page.evaluate((src) => window.mor1e!.loadEncoder(src), modelSourceOf(enc, ENCODER_MOUNT, o.hubUrl)).catch((e: Error) => {
        throw new CliError(`--encoder: ${e.message.replace(/^Error: /, '')}`);
      });
    }

    stage = 'importing the data';
    t = Date.now();
    const imp = importOf(o);
    const data: ImportResult = await page.evaluate(([input, options]) => window.mor1e!.importDataset(input, options), [imp.input, imp.options] as const).catch((e: Error) => {
      throw new CliError(dataImportMessage(o, e.message));
    });
    timing.importData = secs(t);
    const tasks = Object.keys(data.tasks);
    log(`data: ${data.name}: ${data.kept} rows (${data.train} train, ${data.validation} validation), ${tasks.length} task${tasks.length === 1 ? '' : 's'}${data.refused ? `, ${data.refused} refused` : ''}${data.truncated ? `, ${data.truncated} truncated to ${o.maxLen} tokens` : ''}`);
    for (const p of data.problems.slice(0, 5)) log(`  line ${p.line}${p.field ? ` (${p.field})` : ''}: ${p.message}`);
    if (data.problemCount > 5) log(`  … ${data.problemCount - 5} more problems`);
    if (data.shape === 'unknown') throw new CliError(unknownShapeMessage(o.data!, data.columns ?? []));
    if (o.eval && data.validation === 0) throw new CliError('--eval: the data has no validation rows (give --eval-data, or more rows per task)');
    if (interrupted) return EXIT.interrupted;

    const evalReq = { split: 'validation' as const, ...(o.evalLimit !== null ? { limit: o.evalLimit } : {}) };
    let before: EvalResult | null = null;
    if (o.eval) {
      stage = 'evaluating the base model';
      t = Date.now();
      log(`evaluating the base model on the validation rows${o.evalLimit !== null ? ` (at most ${o.evalLimit} per task)` : ''}…`);
      before = await page.evaluate((req) => window.mor1e!.evaluate({ ...req, adapter: false }), evalReq);
      timing.evalBefore = secs(t);
      log(`base model: mean accuracy ${pct(before.mean)} (${timing.evalBefore.toFixed(1)} s)`);
      if (interrupted) return EXIT.interrupted;
    }

    // The run: fresh, or the checkpoint in <out>/checkpoint continued.
    stage = 'starting the run';
    t = Date.now();
    let state: RunState;
    const ckDir = join(out, 'checkpoint');
    let config: RunConfig;
    if (o.resume) {
      const rec = JSON.parse(readFileSync(join(ckDir, 'run.json'), 'utf8')) as RunRecord;
      config = rec.config;
      const files: B64File[] = [];
      const walk = (rel: string) => {
        for (const name of readdirSafe(join(ckDir, rel))) {
          const p = rel ? `${rel}/${name.name}` : name.name;
          if (name.dir) walk(p);
          else files.push({ name: p, b64: Buffer.from(readFileSync(join(ckDir, p))).toString('base64') });
        }
      };
      walk('');
      await writeRunFolder(page, rec.id, files);
      log(`resuming ${rec.id} at step ${rec.step}/${rec.totalSteps} with its own configuration (training options on this command line are not used)`);
      state = await page.evaluate((id) => window.mor1e!.restoreRun(id), rec.id).catch((e: Error) => {
        throw new CliError(`--resume: ${e.message.replace(/^Error: /, '')}`);
      });
      state = await page.evaluate(() => window.mor1e!.resumeRun());
    } else {
      config = runConfigOf(o);
      if (config.intuition) log(`the intuition: embedding ${data.train} training prompts (${config.intuition.source}) and clustering them on the GPU…`);
      state = await page.evaluate((cfg) => window.mor1e!.startRun(cfg), config).catch((e: Error) => {
        throw new CliError(`the run was refused: ${e.message.replace(/^Error: /, '')}`);
      });
    }
    runStarted = true;
    timing.start = secs(t);
    log(`run ${state.id}: ${state.totalSteps} steps of ${config.batchSize}${config.accumulate ? ` x ${config.accumulate}` : ''} rows, lr ${config.lr} (${config.schedule}), about ${state.estimatedMiB} MiB of GPU memory (started in ${timing.start.toFixed(1)} s)`);

    // Progress until the run ends (or Ctrl-C pauses it).
    stage = 'training';
    t = Date.now();
    const bar = new ProgressBar(process.stdout);
    const losses: number[] = [];
    let seen = 0;
    let pausing = false;
    // Router statistics every few seconds of training (the last step's), averaged over the run.
    const routerAvg = new RouterAverage();
    let sampledStep = state.step, sampledAt = 0;
    for (;;) {
      if (interrupted && !pausing) {
        pausing = true;
        await page.evaluate(() => window.mor1e!.pauseRun());
      }
      state = await page.evaluate(() => window.mor1e!.runState());
      const m = await metricsFrom(page, seen);
      if (m.total < seen) seen = 0; // thinned history: start over
      for (const r of m.rows) losses.push(r.loss);
      seen = m.total;
      const ended = TERMINAL.includes(state.status) || (pausing && state.status === 'paused');
      bar.update({ step: state.step, total: state.totalSteps, loss: recentLoss(losses), tokensPerSecond: state.tokensPerSecond, etaSeconds: state.step > 0 && state.tokensPerSecond > 0 ? state.etaSeconds : null, skipped: state.skipped, status: state.status }, ended);
      if (state.step > sampledStep && Date.now() - sampledAt >= 5000) {
        sampledStep = state.step;
        sampledAt = Date.now();
        routerAvg.add(state.step, await page.evaluate(() => window.mor1e!.routerStats()));
      }
      if (TERMINAL.includes(state.status) || (pausing && state.status === 'paused')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    bar.done();
    timing.train = secs(t);

    // What there is to keep, whatever the outcome: metrics, router statistics, the checkpoint.
    stage = 'saving';
    const rows: MetricRow[] = await page.evaluate(() => window.mor1e!.metrics());
    const router: RouterStats = state.step > 0 ? await page.evaluate(() => window.mor1e!.routerStats()).catch(() => []) : [];
    if (state.step > sampledStep) routerAvg.add(state.step, router);
    const trainSeconds = rows.length ? rows[rows.length - 1].seconds : 0;
    if (state.id) {
      const files = await readRunFolder(page, state.id).catch(() => [] as B64File[]);
      if (files.length) writeFiles(ckDir, files);
    }
    const metricsDoc = () => ({
      model: modelName(o.model), method: config.method, adapter: gpu.adapterName, config, state,
      dataset: { name: data.name, rows: data.kept, train: data.train, validation: data.validation, tasks: data.tasks },
      seconds: { ...timing, total: secs(t0) }, rows,
      routerStats: { lastStep: namedRouterStats(router, tasks), mean: namedRouterStats(routerAvg.mean(), tasks), sampledSteps: routerAvg.steps },
    });
    writeFileSync(join(out, 'metrics.json'), JSON.stringify(metricsDoc(), null, 1));

    if (state.status === 'failed') {
      process.stderr.write(`finetune: the run failed at step ${state.step}: ${state.error ?? 'unknown error'}\n`);
      log(`wrote ${join(o.out, 'metrics.json')}${state.id ? ` and the last checkpoint (${join(o.out, 'checkpoint')})` : ''}`);
      return EXIT.failed;
    }
    if (state.checkpointError) process.stderr.write(`finetune: warning: the last checkpoint could not be written: ${state.checkpointError}\n`);
    const firstLoss = recentLoss(rows.slice(0, 10).map((r) => r.loss));
    log(`trained ${state.step} steps in ${formatDuration(trainSeconds)} (${state.tokensPerSecond.toFixed(0)} tokens/s); loss ${firstLoss?.toFixed(3) ?? '—'} → ${recentLoss(rows.map((r) => r.loss))?.toFixed(3) ?? '—'}${state.skipped ? `; ${state.skipped} steps skipped` : ''}`);

    // The adapter export.
    stage = 'exporting the adapter';
    const exported = await exportAdapterFiles(page);
    writeFiles(join(out, 'adapter'), exported);
    log(`adapter: ${exported.map((f) => f.name).join(', ')} in ${join(o.out, 'adapter')}`);

    if (interrupted && state.status !== 'paused') {
      log(`Ctrl-C came as the run ${state.status} (step ${state.step}/${state.totalSteps}); its files are in ${o.out}`);
      return EXIT.interrupted;
    }
    if (interrupted) {
      log(`paused at step ${state.step}/${state.totalSteps}; the checkpoint is in ${join(o.out, 'checkpoint')}.\nContinue with: npm run finetune -- --resume --out ${o.out}${argv.filter((a) => a !== '--resume').length ? ' (and the same --model / --data options)' : ''}`);
      return EXIT.interrupted;
    }

    if (o.eval && before) {
      stage = 'evaluating the adapter';
      t = Date.now();
      log('evaluating with the adapter…');
      const after: EvalResult = await page.evaluate((req) => window.mor1e!.evaluate({ ...req, adapter: true }), evalReq);
      timing.evalAfter = secs(t);
      printEval(before, after);
      const doc = evalFile(
        { model: modelName(o.model), method: config.method, trainable: state.trainableParameters, steps: state.step, seconds: Math.round(trainSeconds * 10) / 10, adapter: gpu.adapterName },
        before, after,
      );
      writeFileSync(join(out, 'eval.json'), JSON.stringify(doc, null, 1) + '\n');
      writeFileSync(join(out, 'metrics.json'), JSON.stringify(metricsDoc(), null, 1));
    }
    log(`done in ${formatDuration(secs(t0))}: ${['metrics.json', 'adapter/', 'checkpoint/', ...(o.eval ? ['eval.json'] : [])].join(', ')} in ${o.out}`);
    return EXIT.ok;
  } catch (e) {
    if (interrupted) return EXIT.interrupted;
    if (e instanceof CliError) {
      process.stderr.write(`finetune: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`finetune: ${stage} failed: ${e instanceof Error ? e.message : e}\n`);
    return EXIT.failed;
  } finally {
    await session?.close();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

function readdirSafe(dir: string): Array<{ name: string; dir: boolean }> {
  try {
    return readdirSync(dir, { withFileTypes: true }).map((d) => ({ name: d.name, dir: d.isDirectory() }));
  } catch {
    return [];
  }
}
