// Option parsing and validation for `npm run finetune` and `npm run generate` (scripts/cli/):
// pure functions over argv and a file-system probe, so tests/cli.test.ts checks every message
// without a browser. A bad option or file throws CliError (exit status 2) with a message that
// names the option and what would be valid.
import { statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { RunConfig } from '../../src/train/run.ts';
import type { Schedule } from '../../src/train/schedule.ts';
import type { ColumnMapping, ImportOptions } from '../../src/data/types.ts';
import { guessMapping } from '../../src/data/shapes.ts';
import { FIRST_RUN } from '../../src/train/defaults.ts';

/** Exit statuses: 0 done, 1 the run or the engine failed, 2 a bad option or file, 130 stopped by Ctrl-C. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** What a path is on disk (injected so tests can fake a file system). */
export type FsProbe = (path: string) => 'file' | 'dir' | null;

export const realFs: FsProbe = (path) => {
  try {
    const s = statSync(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : null;
  } catch {
    return null;
  }
};

/** The bundled model and suite (public/, served by Vite at these paths). */
export const BUNDLED_MODEL_URL = '/models/mor1e-tiny/';
export const BUNDLED_TRAIN_URL = '/data/suite/train.jsonl';
export const BUNDLED_VALIDATION_URL = '/data/suite/validation.jsonl';

export type ModelArg =
  | { kind: 'bundled' }
  | { kind: 'folder'; path: string }
  | { kind: 'url'; url: string }
  | { kind: 'hub'; repo: string; revision?: string };

export type Method = RunConfig['method'];
export const METHODS: Method[] = ['trex', 'mor1e', 'lora', 'molora', 'sira'];
const GATED: Method[] = ['trex', 'mor1e'];
export type IntuitionArg = 'model' | 'encoder' | 'supplied' | 'none';
const SCHEDULES: Schedule[] = ['constant', 'cosine', 'linear'];

/** The first-run defaults (src/train/defaults.ts, shared with the studio; README, "Does it learn?"). */
export const DEFAULTS = {
  method: FIRST_RUN.method as Method,
  steps: FIRST_RUN.steps,
  lr: FIRST_RUN.lr,
  batch: FIRST_RUN.batchSize,
  accumulate: 1,
  maxLen: FIRST_RUN.maxLength,
  seed: FIRST_RUN.seed,
  schedule: FIRST_RUN.schedule as Schedule,
  /** Warmup steps: 5% of the run (at least 1). */
  warmupShare: 0.05,
  evalLimit: null as number | null,
  port: 0,
};

export interface FinetuneOptions {
  model: ModelArg;
  /** Training data file (null: the bundled suite's train file). */
  data: string | null;
  /** Validation file (null: the suite's validation file with the default data, else a stratified split). */
  evalData: string | null;
  validationFraction: number;
  /** --columns: which columns of a file of no known shape hold the prompt, answer, task, … (null: the file's own shape). */
  columns: ColumnMapping | null;
  method: Method;
  r1?: number;
  r2?: number;
  E?: number;
  r?: number;
  topk?: number;
  intuition: IntuitionArg;
  /** The base-model block whose states embed a prompt (--intuition model; default: the middle one). */
  intuitionLayer?: number;
  /** Sentence encoder for --intuition encoder: a folder, URL or hub id. */
  encoder: ModelArg | null;
  steps?: number;
  epochs?: number;
  lr: number;
  batch: number;
  accumulate: number;
  maxLen: number;
  seed: number;
  schedule: Schedule;
  warmup: number;
  eval: boolean;
  /** At most this many validation rows per task in --eval (null: all). */
  evalLimit: number | null;
  out: string;
  resume: boolean;
  port: number;
  hubUrl?: string;
}

export interface GenerateOptions {
  model: ModelArg;
  adapter: string | null;
  prompt: string;
  compare: boolean;
  raw: boolean;
  maxNewTokens: number;
  temperature: number;
  seed: number;
  port: number;
  hubUrl?: string;
}

export const FINETUNE_HELP = `npm run finetune -- [options]

Finetunes an adapter in headless Chromium with the app's own WebGPU engine (the machine's GPU;
SwiftShader, Chromium's CPU WebGPU, where there is none, and then it says so).

Model and data
  --model <folder | URL | hub id>   base model (default: the bundled mor1e-tiny)
  --data <file>                    training data: JSONL, JSON, CSV, TSV (default: the bundled suite)
  --eval-data <file>               validation file (default: the suite's validation file with the
                                   default data, else a stratified split of --data)
  --validation-fraction <f>        share of each task held out by that split (default 0.1)
  --columns prompt=<col>,answer=<col>[,task=<col>,input=<col>,choices=<col>,emb=<col>]
                                   which columns of --data (and --eval-data) hold each part, for a
                                   file in none of the known shapes ({instruction, output, task},
                                   Alpaca, {prompt, completion}, chat messages, multiple choice)
  --hub-url <URL>                  a Hugging Face hub mirror for hub ids (default huggingface.co)

Adapter
  --method trex|mor1e|lora|molora|sira   (default trex)
  --experts <r1xr2 | E>            T-REX: r1 x r2 (default 4x8); MoR1E: the expert count E (default 32)
  --rank <r>                       LoRA / MoLoRA / SiRA rank (default 32; MoLoRA / SiRA: a multiple of 8)
  --topk <k>                       T-REX / MoR1E: keep the k best experts per token (default: dense)
  --intuition model|encoder|supplied|none
                                   T-REX / MoR1E: the clustering that guides the router (default
                                   model: the base model's own hidden states)
  --intuition-layer <l>            --intuition model: the block whose mean-pooled states embed a
                                   prompt (0-based; default the middle one; lower is cheaper)
  --encoder <folder | URL | hub id>  the BERT sentence encoder for --intuition encoder

Training
  --steps <N> | --epochs <N>       optimiser steps, or passes over the data (default ${DEFAULTS.steps} steps)
  --lr <x>                         peak learning rate (default ${DEFAULTS.lr})
  --schedule constant|cosine|linear   (default ${DEFAULTS.schedule})
  --warmup <N>                     warmup steps (default 5% of the steps)
  --batch <N>                      sequences per micro-batch (default ${DEFAULTS.batch})
  --accumulate <N>                 micro-batches per step (default ${DEFAULTS.accumulate})
  --max-len <N>                    tokens per row, prompt + answer (default ${DEFAULTS.maxLen})
  --seed <N>                       adapter init, data order, split, intuition (default ${DEFAULTS.seed})

Output
  --out <dir>                      where to write (default runs/<date>-<method>)
  --eval                           per-task validation accuracy before and after: eval.json
  --eval-limit <N>                 at most N validation rows per task in --eval (default: all)
  --resume                         continue the checkpoint in --out (after Ctrl-C); the same
                                   model and data options as the first run
  --port <N>                       the local server's port (default: any free port)
  -h, --help                       this text

Writes to <dir>: adapter/ (the adapter export), metrics.json (every step's row, the router
statistics per layer and task), checkpoint/ (the run's last checkpoint), with --eval eval.json.
Ctrl-C pauses the run, keeps its checkpoint in <dir>/checkpoint and exits with status 130.
Exit status: 0 done, 1 the run failed, 2 a bad option or file, 130 interrupted.
`;

export const GENERATE_HELP = `npm run generate -- --prompt "…" [options]

Prints a generation of the base model with a trained adapter, in headless Chromium on WebGPU.

  --prompt <text>                  the prompt (required); rendered as a user turn with the model's
                                   template (the plain instruction template when it has none)
  --raw                            send the prompt as it is, without the template
  --model <folder | URL | hub id>  base model (default: the bundled mor1e-tiny)
  --adapter <dir>                  an adapter folder (finetune's <out>/adapter); without it, the base model
  --compare                        also print the base model's generation beside it
  --max-new-tokens <N>             (default 48)
  --temperature <x>                0 = greedy (default 0)
  --seed <N>                       sampling seed (default 0)
  --hub-url <URL>                  a Hugging Face hub mirror for hub ids
  --port <N>                       the local server's port (default: any free port)
  -h, --help                       this text
`;

const HUB_ID = /^[\w.-]+\/[\w.-]+$/;

/** A model argument: an existing folder (with config.json), an http(s) URL, or a hub id owner/name[@revision]. */
export function modelArg(value: string, fs: FsProbe, option = '--model', need = 'config.json'): ModelArg {
  if (/^https?:\/\//i.test(value)) return { kind: 'url', url: value.endsWith('/') ? value : value + '/' };
  const kind = fs(value);
  if (kind === 'dir') {
    if (fs(join(value, need)) !== 'file') throw new CliError(`${option} ${value}: the folder has no ${need} (a model folder holds config.json, *.safetensors, tokenizer.json, tokenizer_config.json)`);
    return { kind: 'folder', path: resolve(value) };
  }
  if (kind === 'file') throw new CliError(`${option} ${value}: is a file; give the model's folder, a URL or a hub id (owner/name)`);
  const [repo, revision] = value.split('@');
  if (HUB_ID.test(repo) && !value.startsWith('.') && !value.startsWith('/') && (revision === undefined || /^[\w.-]+$/.test(revision)))
    return revision ? { kind: 'hub', repo, revision } : { kind: 'hub', repo };
  throw new CliError(`${option} ${value}: no such folder, and not a URL or a Hugging Face id (owner/name)`);
}

/** One token stream over argv: --name value, --name=value, flags. */
class Args {
  private i = 0;
  constructor(private readonly argv: string[]) {}
  next(): { name: string; inline: string | undefined } | null {
    if (this.i >= this.argv.length) return null;
    const a = this.argv[this.i++];
    if (!a.startsWith('-') || a === '-' || /^-\d/.test(a)) throw new CliError(`unexpected argument ${JSON.stringify(a)} (options start with --; see --help)`);
    const eq = a.indexOf('=');
    return eq > 0 ? { name: a.slice(0, eq), inline: a.slice(eq + 1) } : { name: a, inline: undefined };
  }
  /** The option's value; `any` takes the next argument even when it starts with -- (a prompt). */
  value(name: string, inline: string | undefined, any = false): string {
    if (inline !== undefined) return inline;
    const v = this.argv[this.i];
    if (v === undefined || (!any && v.startsWith('--') && v.length > 2)) throw new CliError(`${name} needs a value (see --help)`);
    this.i++;
    return v;
  }
}

/**
 * Options by name from argv: `flags` (no value) map to true, `valued` to their value (`anyValue`
 * ones take the next argument even when it starts with dashes); 'help' for --help / -h. An
 * unknown option, a repeated one or a flag given a value is a CliError.
 */
function collectArgs(argv: string[], flags: string[], valued: string[], anyValue: string[] = []): Map<string, string | true> | 'help' {
  const raw = new Map<string, string | true>();
  const args = new Args(argv);
  const flagSet = new Set([...flags, '--help', '-h']), valuedSet = new Set(valued);
  for (let a = args.next(); a; a = args.next()) {
    if (flagSet.has(a.name)) {
      if (a.inline !== undefined) throw new CliError(`${a.name} takes no value`);
      raw.set(a.name, true);
    } else if (valuedSet.has(a.name)) {
      if (raw.has(a.name)) throw new CliError(`${a.name} is given twice`);
      raw.set(a.name, args.value(a.name, a.inline, anyValue.includes(a.name)));
    } else throw new CliError(`unknown option ${a.name} (see --help)`);
  }
  return raw.has('--help') || raw.has('-h') ? 'help' : raw;
}

/**
 * A command's options, or its exit status without them: --help prints `help` (0); a CliError
 * prints "<command>: <message>" to stderr (its exit status, 2 for a bad option or file).
 */
export function optionsOrExit<T>(command: string, parse: () => T | 'help', help: string): { options: T } | { exit: number } {
  try {
    const parsed = parse();
    if (parsed === 'help') {
      process.stdout.write(help);
      return { exit: EXIT.ok };
    }
    return { options: parsed };
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`${command}: ${e.message}\n`);
      return { exit: e.exitCode };
    }
    throw e;
  }
}

export function int(name: string, v: string, min: number): number {
  if (!/^[+-]?\d+$/.test(v.trim())) throw new CliError(`${name} must be an integer, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new CliError(`${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
}

export function num(name: string, v: string, check: (x: number) => boolean, what: string): number {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || !check(n)) throw new CliError(`${name} must be ${what}, got ${JSON.stringify(v)}`);
  return n;
}

function oneOf<T extends string>(name: string, v: string, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) throw new CliError(`${name} must be one of ${allowed.join(', ')}; got ${JSON.stringify(v)}`);
  return v as T;
}

function dataFile(name: string, v: string, fs: FsProbe): string {
  const kind = fs(v);
  if (kind === null) throw new CliError(`${name} ${v}: no such file`);
  if (kind === 'dir') throw new CliError(`${name} ${v}: is a folder; give a JSONL, JSON, CSV or TSV file`);
  return resolve(v);
}

function defaultOut(method: Method, now: Date): string {
  const stamp = now.toISOString().slice(0, 19).replace(/[:T]/g, '-');
  return join('runs', `${stamp}-${method}`);
}

const COLUMN_KEYS = ['prompt', 'answer', 'task', 'input', 'choices', 'emb'] as const;
type ColumnKey = (typeof COLUMN_KEYS)[number];
/** The --columns shape, for messages that cannot guess the columns. */
const COLUMNS_TEMPLATE = 'prompt=<column>,answer=<column>[,task=<column>]';

/** --columns prompt=question,answer=answer[,task=category,input=…,choices=…,emb=…] → a column mapping. */
export function columnsArg(v: string): ColumnMapping {
  const m: Partial<Record<ColumnKey, string>> = {};
  for (const part of v.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim(), col = part.slice(eq + 1).trim();
    if (eq < 0 || !key || !col) throw new CliError(`--columns: ${JSON.stringify(part)} is not part=column (e.g. --columns prompt=question,answer=answer,task=category)`);
    if (!COLUMN_KEYS.includes(key as ColumnKey)) throw new CliError(`--columns: unknown part ${JSON.stringify(key)}; the parts are ${COLUMN_KEYS.join(', ')}`);
    if (m[key as ColumnKey] !== undefined) throw new CliError(`--columns: ${key} is given twice`);
    m[key as ColumnKey] = col;
  }
  for (const key of ['prompt', 'answer'] as const) if (!m[key]) throw new CliError(`--columns needs ${key}=<column> (the column that holds the ${key})`);
  return m as ColumnMapping;
}

/** finetune's and compare's refusal of a data import: which file, the importer's message, and where it asks for a mapping, the option that gives one. */
export function dataImportMessage(o: Pick<FinetuneOptions, 'data'>, message: string): string {
  const m = message.replace(/^Error: /, '').replace(/give a column mapping$/, `say which column is which with --columns ${COLUMNS_TEMPLATE}`);
  return `${o.data ? `--data ${o.data}` : 'the bundled suite'}: ${m}`;
}

/** A column mapping as its --columns value (part=column,…). */
export function columnsText(m: Partial<ColumnMapping>): string {
  return COLUMN_KEYS.filter((k) => m[k] !== undefined).map((k) => `${k}=${m[k]}`).join(',');
}

/** The --columns value for a guessed mapping (for messages), or null when prompt or answer was not found. */
export function columnsHint(columns: string[]): string | null {
  const g = guessMapping(columns);
  return g.prompt && g.answer ? columnsText(g) : null;
}

/** finetune's and compare's refusal of a data file in none of the known shapes: its columns, and a --columns to try. */
export function unknownShapeMessage(file: string, columns: string[]): string {
  const hint = columnsHint(columns);
  return (
    `--data ${file}: no known shape (columns ${columns.join(', ') || 'none'}); use {instruction, output, task}, {prompt, completion}, chat messages or multiple choice, ` +
    `or say which column is which with --columns ${hint ?? COLUMNS_TEMPLATE}${hint ? ' (guessed from the column names)' : ''}`
  );
}

/** Parses finetune's argv; 'help' for --help. Throws CliError naming the bad option. */
export function parseFinetuneArgs(argv: string[], fs: FsProbe = realFs, now = new Date()): FinetuneOptions | 'help' {
  const raw = collectArgs(argv, ['--eval', '--resume'], [
    '--model', '--data', '--eval-data', '--validation-fraction', '--columns', '--hub-url', '--method', '--experts', '--rank', '--topk', '--intuition', '--intuition-layer', '--encoder',
    '--steps', '--epochs', '--lr', '--schedule', '--warmup', '--batch', '--accumulate', '--max-len', '--seed', '--out', '--eval-limit', '--port',
  ]);
  if (raw === 'help') return 'help';
  const get = (n: string) => raw.get(n) as string | undefined;

  const method = get('--method') !== undefined ? oneOf('--method', get('--method')!, METHODS) : DEFAULTS.method;
  const gated = GATED.includes(method);
  const o: FinetuneOptions = {
    model: get('--model') !== undefined ? modelArg(get('--model')!, fs) : { kind: 'bundled' },
    data: get('--data') !== undefined ? dataFile('--data', get('--data')!, fs) : null,
    evalData: get('--eval-data') !== undefined ? dataFile('--eval-data', get('--eval-data')!, fs) : null,
    validationFraction: 0.1,
    columns: null,
    method,
    intuition: 'none',
    encoder: null,
    lr: DEFAULTS.lr,
    batch: DEFAULTS.batch,
    accumulate: DEFAULTS.accumulate,
    maxLen: DEFAULTS.maxLen,
    seed: DEFAULTS.seed,
    schedule: DEFAULTS.schedule,
    warmup: 0,
    eval: raw.has('--eval'),
    evalLimit: DEFAULTS.evalLimit,
    out: get('--out') ?? defaultOut(method, now),
    resume: raw.has('--resume'),
    port: DEFAULTS.port,
  };
  if (get('--validation-fraction') !== undefined) {
    if (o.data === null || o.evalData !== null) throw new CliError('--validation-fraction applies to a split of --data (without --eval-data)');
    o.validationFraction = num('--validation-fraction', get('--validation-fraction')!, (x) => x > 0 && x < 1, 'a number between 0 and 1');
  }
  if (get('--columns') !== undefined) {
    if (o.data === null) throw new CliError('--columns maps the columns of --data (the bundled suite has its own shape)');
    o.columns = columnsArg(get('--columns')!);
  }
  if (get('--hub-url') !== undefined) {
    const u = get('--hub-url')!;
    if (!/^https?:\/\/\S+$/i.test(u)) throw new CliError(`--hub-url must be an http(s) URL, got ${JSON.stringify(u)}`);
    o.hubUrl = u;
  }

  // The adapter's sizes, each only where the method has it.
  const experts = get('--experts');
  if (experts !== undefined) {
    if (method === 'trex') {
      const m = /^(\d+)x(\d+)$/i.exec(experts.trim());
      if (!m) throw new CliError(`--experts for trex is r1xr2 (e.g. 4x8: E = 32 rank-1 experts), got ${JSON.stringify(experts)}`);
      o.r1 = int('--experts r1', m[1], 1);
      o.r2 = int('--experts r2', m[2], 1);
    } else if (method === 'mor1e') {
      if (/x/i.test(experts)) throw new CliError(`--experts for mor1e is the expert count E (e.g. 32), got ${JSON.stringify(experts)}; r1xr2 is T-REX's`);
      o.E = int('--experts', experts, 1);
    } else throw new CliError(`--experts applies to trex (r1xr2) and mor1e (E); ${method} has ${method === 'lora' ? 'no experts' : '8 fixed experts'}: use --rank`);
  }
  const rank = get('--rank');
  if (rank !== undefined) {
    if (gated) throw new CliError(`--rank applies to lora, molora and sira; ${method} sets its size with --experts`);
    o.r = int('--rank', rank, 1);
    if (method !== 'lora' && o.r % 8) throw new CliError(`--rank for ${method} must be a multiple of 8 (8 experts of rank r/8), got ${o.r}`);
  }
  const topk = get('--topk');
  if (topk !== undefined) {
    if (!gated) throw new CliError(`--topk applies to trex and mor1e${method === 'sira' ? ' (SiRA keeps 6 of its 8 experts)' : ''}; ${method} routes densely`);
    o.topk = int('--topk', topk, 1);
    const E = method === 'trex' ? (o.r1 ?? 4) * (o.r2 ?? 8) : (o.E ?? 32);
    if (o.topk > E) throw new CliError(`--topk ${o.topk} is more than the ${E} experts`);
  }
  const intuition = get('--intuition');
  if (intuition !== undefined) {
    const v = oneOf('--intuition', intuition, ['model', 'encoder', 'supplied', 'none'] as const);
    if (!gated && v !== 'none') throw new CliError(`--intuition applies to trex and mor1e; ${method} has no intuition-guided gate`);
    o.intuition = v;
  } else o.intuition = gated ? 'model' : 'none';
  if (get('--intuition-layer') !== undefined) {
    if (o.intuition !== 'model') throw new CliError('--intuition-layer goes with --intuition model');
    o.intuitionLayer = int('--intuition-layer', get('--intuition-layer')!, 0);
  }
  if (get('--encoder') !== undefined) {
    if (o.intuition !== 'encoder') throw new CliError('--encoder goes with --intuition encoder');
    o.encoder = modelArg(get('--encoder')!, fs, '--encoder');
  } else if (o.intuition === 'encoder') throw new CliError('--intuition encoder needs --encoder <folder | URL | hub id> (a BERT sentence encoder such as sentence-transformers/all-MiniLM-L6-v2)');

  // Length of the run.
  if (get('--steps') !== undefined && get('--epochs') !== undefined) throw new CliError('give --steps or --epochs, not both');
  if (get('--epochs') !== undefined) o.epochs = int('--epochs', get('--epochs')!, 1);
  else o.steps = get('--steps') !== undefined ? int('--steps', get('--steps')!, 1) : DEFAULTS.steps;
  if (get('--lr') !== undefined) o.lr = num('--lr', get('--lr')!, (x) => x > 0, 'a positive number');
  if (get('--schedule') !== undefined) o.schedule = oneOf('--schedule', get('--schedule')!, SCHEDULES);
  if (get('--batch') !== undefined) o.batch = int('--batch', get('--batch')!, 1);
  if (get('--accumulate') !== undefined) o.accumulate = int('--accumulate', get('--accumulate')!, 1);
  if (get('--max-len') !== undefined) o.maxLen = int('--max-len', get('--max-len')!, 2);
  if (get('--seed') !== undefined) o.seed = int('--seed', get('--seed')!, 0);
  if (get('--warmup') !== undefined) {
    o.warmup = int('--warmup', get('--warmup')!, 0);
    if (o.steps !== undefined && o.warmup >= o.steps) throw new CliError(`--warmup ${o.warmup} must be fewer than the ${o.steps} steps`);
  } else o.warmup = o.steps !== undefined ? Math.max(1, Math.round(o.steps * DEFAULTS.warmupShare)) : 0;
  if (get('--eval-limit') !== undefined) {
    if (!o.eval) throw new CliError('--eval-limit goes with --eval');
    o.evalLimit = int('--eval-limit', get('--eval-limit')!, 1);
  }
  if (get('--port') !== undefined) o.port = int('--port', get('--port')!, 0);
  if (o.port > 65535) throw new CliError(`--port must be at most 65535, got ${o.port}`);
  if (fs(o.out) === 'file') throw new CliError(`--out ${o.out}: is a file; give a folder (it is created if missing)`);
  if (o.resume) {
    if (get('--out') === undefined) throw new CliError('--resume continues the run in --out <dir>: give the folder of the interrupted run');
    if (fs(join(o.out, 'checkpoint', 'run.json')) !== 'file') throw new CliError(`--resume: ${o.out} holds no checkpoint (checkpoint/run.json)`);
  }
  return o;
}

/** The training run's configuration for window.mor1e.startRun. Epoch runs warm up for 5% of their steps. */
export function runConfigOf(o: FinetuneOptions): RunConfig {
  const cfg: RunConfig = {
    method: o.method, init: 'fresh', batchSize: o.batch, lr: o.lr, schedule: o.schedule, seed: o.seed, maxLength: o.maxLen, checkpointEvery: 50,
    ...(o.steps !== undefined ? { steps: o.steps } : { epochs: o.epochs }),
    ...(o.accumulate > 1 ? { accumulate: o.accumulate } : {}),
    ...(o.warmup > 0 ? { warmupSteps: o.warmup } : {}),
  };
  for (const k of ['r1', 'r2', 'E', 'r', 'topk'] as const) if (o[k] !== undefined) cfg[k] = o[k];
  if (o.intuition !== 'none')
    cfg.intuition = { source: o.intuition, seed: o.seed, ...(o.intuitionLayer !== undefined ? { layer: o.intuitionLayer } : {}), ...(o.intuition === 'encoder' ? { encoder: ENCODER_MOUNT } : {}) };
  return cfg;
}

/** Where the local server mounts a model or encoder folder, and data files. */
export const MODEL_MOUNT = '/__cli/model/';
export const ENCODER_MOUNT = '/__cli/encoder/';
export const ADAPTER_MOUNT = '/__cli/adapter/';
export const dataMount = (file: string, which: 'train' | 'validation') => `/__cli/data/${which}/${encodeURIComponent(basename(file))}`;

/** The dataset import: inputs (URLs the page fetches) and options. */
export function importOf(o: FinetuneOptions): { input: { url: string }; options: ImportOptions } {
  const options: ImportOptions = { maxLength: o.maxLen, seed: o.seed, ...(o.columns ? { mapping: o.columns } : {}) };
  if (o.data === null) return { input: { url: BUNDLED_TRAIN_URL }, options: { ...options, validation: { url: o.evalData ? dataMount(o.evalData, 'validation') : BUNDLED_VALIDATION_URL } } };
  if (o.evalData) return { input: { url: dataMount(o.data, 'train') }, options: { ...options, validation: { url: dataMount(o.evalData, 'validation') } } };
  return { input: { url: dataMount(o.data, 'train') }, options: { ...options, validationFraction: o.validationFraction } };
}

/** Where a model argument loads from in the page (folders are served by the script's server). */
export function modelSourceOf(m: ModelArg, mount: string, hubUrl?: string): string | { kind: 'hub'; repo: string; revision?: string; hubUrl?: string } {
  switch (m.kind) {
    case 'bundled':
      return BUNDLED_MODEL_URL;
    case 'folder':
      return mount;
    case 'url':
      return m.url;
    case 'hub':
      return { kind: 'hub', repo: m.repo, ...(m.revision ? { revision: m.revision } : {}), ...(hubUrl ? { hubUrl } : {}) };
  }
}

/** A short name for reports: the bundled model's name, a folder's name, the URL or the hub id. */
export function modelName(m: ModelArg): string {
  switch (m.kind) {
    case 'bundled':
      return 'mor1e-tiny';
    case 'folder':
      return basename(m.path);
    case 'url':
      return m.url;
    case 'hub':
      return m.repo + (m.revision ? `@${m.revision}` : '');
  }
}

export function parseGenerateArgs(argv: string[], fs: FsProbe = realFs): GenerateOptions | 'help' {
  // A prompt may start with dashes: it takes the next argument whatever it is.
  const raw = collectArgs(argv, ['--compare', '--raw'], ['--model', '--adapter', '--prompt', '--max-new-tokens', '--temperature', '--seed', '--hub-url', '--port'], ['--prompt']);
  if (raw === 'help') return 'help';
  const get = (n: string) => raw.get(n) as string | undefined;
  const prompt = get('--prompt');
  if (prompt === undefined || prompt.trim() === '') throw new CliError('--prompt "…" is required (see --help)');
  let adapter: string | null = null;
  if (get('--adapter') !== undefined) {
    const dir = get('--adapter')!;
    const kind = fs(dir);
    if (kind === null) throw new CliError(`--adapter ${dir}: no such folder`);
    if (kind === 'file') throw new CliError(`--adapter ${dir}: is a file; give the adapter's folder (finetune's <out>/adapter)`);
    if (fs(join(dir, 'mor1e_config.json')) !== 'file' && fs(join(dir, 'adapter_config.json')) !== 'file')
      throw new CliError(`--adapter ${dir}: no mor1e_config.json or adapter_config.json there (give finetune's <out>/adapter folder)`);
    adapter = resolve(dir);
  }
  if (raw.has('--compare') && adapter === null) throw new CliError('--compare compares the adapter with the base model: give --adapter <dir>');
  const o: GenerateOptions = {
    model: get('--model') !== undefined ? modelArg(get('--model')!, fs) : { kind: 'bundled' },
    adapter,
    prompt,
    compare: raw.has('--compare'),
    raw: raw.has('--raw'),
    maxNewTokens: get('--max-new-tokens') !== undefined ? int('--max-new-tokens', get('--max-new-tokens')!, 1) : 48,
    temperature: get('--temperature') !== undefined ? num('--temperature', get('--temperature')!, (x) => x >= 0, 'a number ≥ 0') : 0,
    seed: get('--seed') !== undefined ? int('--seed', get('--seed')!, 0) : 0,
    port: get('--port') !== undefined ? int('--port', get('--port')!, 0) : 0,
  };
  if (o.port > 65535) throw new CliError(`--port must be at most 65535, got ${o.port}`);
  if (get('--hub-url') !== undefined) {
    const u = get('--hub-url')!;
    if (!/^https?:\/\/\S+$/i.test(u)) throw new CliError(`--hub-url must be an http(s) URL, got ${JSON.stringify(u)}`);
    o.hubUrl = u;
  }
  return o;
}

/** The methods `npm run compare` trains, in the order of RESULTS.md (issue 15). */
export const COMPARE_VARIANTS = [
  { id: 'lora', label: 'LoRA r = 32', config: { method: 'lora', r: 32 }, intuition: false },
  { id: 'molora', label: 'MoLoRA r = 32 (8 experts)', config: { method: 'molora', r: 32 }, intuition: false },
  { id: 'sira', label: 'SiRA r = 32 (top-6 of 8)', config: { method: 'sira', r: 32 }, intuition: false },
  { id: 'mor1e', label: 'MoR1E E = 32, dense', config: { method: 'mor1e', E: 32 }, intuition: true },
  { id: 'trex', label: 'T-REX 4 x 8, dense', config: { method: 'trex', r1: 4, r2: 8 }, intuition: true },
  { id: 'trex-topk', label: 'T-REX 4 x 8, top-8', config: { method: 'trex', r1: 4, r2: 8, topk: 8 }, intuition: true },
  { id: 'trex-no-intuition', label: 'T-REX without intuition (router only)', config: { method: 'trex', r1: 4, r2: 8, useIntuition: false }, intuition: false },
  { id: 'trex-intuition-only', label: 'T-REX intuition only (no router)', config: { method: 'trex', r1: 4, r2: 8, useRouter: false }, intuition: true },
] as const satisfies ReadonlyArray<{ id: string; label: string; config: Partial<RunConfig> & { method: Method }; intuition: boolean }>;

export type CompareVariant = (typeof COMPARE_VARIANTS)[number];

export interface CompareOptions {
  /** The shared settings (finetune's options; the method and its sizes come from each variant). */
  base: FinetuneOptions;
  seeds: number[];
  variants: CompareVariant[];
  /** The Markdown table (default RESULTS.md) and its data (default: the same name, .json). */
  results: string;
  json: string;
  /** Keep the runs of an existing results file made with the same settings; train only the missing ones. */
  continue: boolean;
  /** Learning rates of methods that do not take the shared --lr (variant id → lr). */
  lrFor: Record<string, number>;
}

export const COMPARE_HELP = `npm run compare -- [options]

Trains every method on the same data, for the same steps, with the same seeds, evaluates each
adapter per task, and writes the table (the shape of the paper's main table) to RESULTS.md.
On a GPU machine without a browser, npm run compare:node -- [options] does the same in plain Node
through Dawn (the \`webgpu\` package, or DAWN_NODE=path/to/dawn.node).

Methods (--variants, default all, in this order):
${COMPARE_VARIANTS.map((v) => `  ${v.id.padEnd(22)} ${v.label}`).join('\n')}

  --seeds <a,b,c | N>              seeds (adapter init, data order, intuition); N = 0..N-1 (default 0,1,2)
  --variants <id,id,…>             a subset of the methods above
  --results <file.md>              where the table goes (default RESULTS.md); its data goes beside it (.json)
  --out <dir>                      each run's files: <dir>/<seed>/<method>/ (default runs/compare)
  --continue                       keep the runs already in the results file (same model, data, settings
                                   and adapter) and train only the (seed, method) pairs it lacks: a
                                   comparison spread over several sessions or machines
  --lr-for <id=lr,…>               a method's own peak learning rate instead of the shared --lr, e.g.
                                   lora=0.001,sira=0.002: one shared rate favours the methods it suits;
                                   the table names each rate given here

Shared with finetune (see npm run finetune -- --help): --model, --data, --eval-data,
--validation-fraction, --columns (named with the data in the results), --hub-url, --intuition-layer, --steps | --epochs, --lr, --schedule, --warmup,
--batch, --accumulate, --max-len, --eval-limit, --port. Method options (--method, --experts,
--rank, --topk, --intuition) are set by each variant. The base model is evaluated once; the
intuition's embeddings are computed once and reused (k-means runs per seed).
Exit status: 0 done, 1 a run failed, 2 a bad option or file, 130 interrupted.
`;

/** Parses compare's argv; 'help' for --help. Shared options are checked by parseFinetuneArgs. */
export function parseCompareArgs(argv: string[], fs: FsProbe = realFs): CompareOptions | 'help' {
  const own = new Map<string, string>();
  const rest: string[] = [];
  let cont = false;
  const perVariant = ['--method', '--experts', '--rank', '--topk', '--intuition', '--encoder', '--resume', '--eval', '--seed'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (name === '--help' || name === '-h') return 'help';
    if (name === '--continue') {
      if (eq > 0) throw new CliError('--continue takes no value');
      cont = true;
      continue;
    }
    if (perVariant.includes(name))
      throw new CliError(name === '--seed' ? '--seed: compare takes --seeds <a,b,c | N>' : name === '--eval' ? '--eval: compare always evaluates' : `${name}: compare sets the method and its options per variant (choose them with --variants)`);
    if (['--seeds', '--variants', '--results', '--out', '--lr-for'].includes(name)) {
      if (own.has(name)) throw new CliError(`${name} is given twice`);
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || (eq < 0 && v.startsWith('--'))) throw new CliError(`${name} needs a value (see --help)`);
      own.set(name, v);
    } else rest.push(a);
  }
  const out = own.get('--out') ?? join('runs', 'compare');
  const base = parseFinetuneArgs([...rest, '--eval', '--out', out], fs);
  if (base === 'help') return 'help';
  let seeds = [0, 1, 2];
  const s = own.get('--seeds');
  if (s !== undefined) {
    if (/^\d+$/.test(s.trim())) seeds = Array.from({ length: int('--seeds', s, 1) }, (_, i) => i);
    else seeds = s.split(',').map((x) => int('--seeds', x.trim(), 0));
    if (new Set(seeds).size !== seeds.length) throw new CliError(`--seeds ${s}: a seed is given twice`);
  }
  let variants: CompareVariant[] = [...COMPARE_VARIANTS];
  const v = own.get('--variants');
  if (v !== undefined) {
    const ids = v.split(',').map((x) => x.trim()).filter(Boolean);
    const known = COMPARE_VARIANTS.map((x) => x.id as string);
    for (const id of ids) if (!known.includes(id)) throw new CliError(`--variants: unknown method ${JSON.stringify(id)}; choose from ${known.join(', ')}`);
    if (!ids.length) throw new CliError('--variants needs at least one method');
    variants = COMPARE_VARIANTS.filter((x) => ids.includes(x.id));
  }
  const lrFor: Record<string, number> = {};
  const lf = own.get('--lr-for');
  if (lf !== undefined) {
    const items = lf.split(',').map((x) => x.trim()).filter(Boolean);
    if (!items.length) throw new CliError('--lr-for needs method=lr pairs, e.g. lora=0.001');
    for (const item of items) {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new CliError(`--lr-for ${item}: give method=lr, e.g. lora=0.001`);
      const id = item.slice(0, eq).trim();
      if (!COMPARE_VARIANTS.some((x) => x.id === id)) throw new CliError(`--lr-for: unknown method ${JSON.stringify(id)}; choose from ${COMPARE_VARIANTS.map((x) => x.id).join(', ')}`);
      if (!variants.some((x) => x.id === id)) throw new CliError(`--lr-for: ${id} is not among the methods compared (${variants.map((x) => x.id).join(', ')})`);
      if (id in lrFor) throw new CliError(`--lr-for: ${id} is given twice`);
      lrFor[id] = num(`--lr-for ${id}`, item.slice(eq + 1), (x) => x > 0, 'a positive number');
    }
  }
  const results = own.get('--results') ?? 'RESULTS.md';
  if (!/\.md$/i.test(results)) throw new CliError(`--results ${results}: give a Markdown file name (…md)`);
  if (fs(results) === 'dir') throw new CliError(`--results ${results}: is a folder; give a file name`);
  return { base, seeds, variants, results: resolve(results), json: resolve(results.replace(/\.md$/i, '.json')), continue: cont, lrFor };
}

/** One variant's run configuration at one seed: the shared settings (or the variant's own `lr`), the variant's method and options. */
export function compareRunConfig(base: FinetuneOptions, v: CompareVariant, seed: number, lr = base.lr): RunConfig {
  const cfg: RunConfig = { ...runConfigOf({ ...base, lr, method: v.config.method, seed, intuition: v.intuition ? 'model' : 'none' }), ...v.config, seed };
  if (!v.intuition) delete cfg.intuition;
  return cfg;
}
