// The headless CLI's option parsing and validation (scripts/cli/options.ts), the progress line and
// the eval.json shape — no browser here; the end-to-end run is scripts/cli/smoke.mjs (npm run test:cli).
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import {
  BUNDLED_MODEL_URL, CliError, COMPARE_VARIANTS, DEFAULTS, EXIT, FINETUNE_HELP, GENERATE_HELP, compareRunConfig, importOf, modelArg, modelSourceOf, parseCompareArgs, parseFinetuneArgs, parseGenerateArgs, runConfigOf, unknownShapeMessage, dataImportMessage,
  type CompareOptions, type FinetuneOptions, type FsProbe,
} from '../scripts/cli/options.ts';
import { formatDuration, progressLine, recentLoss } from '../scripts/cli/progress.ts';
import { namedRouterStats } from '../scripts/cli/finetune.ts';
import { evalFile } from '../scripts/cli/evalFile.ts';
import { resultsMarkdown, type CompareDoc } from '../scripts/cli/compare.ts';
import { continuedRuns, mergedLists } from '../scripts/cli/compareRun.ts';
import type { EvalResult } from '../src/train/evaluate.ts';

// A fake file system: folders end in '/'.
const fake = (paths: string[]): FsProbe => (p) => {
  const q = p.replace(/\\/g, '/').replace(/\/$/, '');
  if (paths.includes(q)) return 'file';
  if (paths.some((x) => x.startsWith(q + '/'))) return 'dir';
  return null;
};
const fs = fake(['models/tiny/config.json', 'models/tiny/model.safetensors', 'models/empty/readme.txt', 'data/train.jsonl', 'data/val.jsonl', 'out-file', 'ad/mor1e_config.json', 'ad/adapter_model.safetensors', 'done/checkpoint/run.json']);
const now = new Date('2025-01-02T03:04:05Z');
const parse = (...argv: string[]) => parseFinetuneArgs(argv, fs, now) as FinetuneOptions;
/** The CliError message of a bad command line (and that it is a usage error). */
const fail = (argv: string[], gen = false) => {
  try {
    if (gen) parseGenerateArgs(argv, fs);
    else parseFinetuneArgs(argv, fs, now);
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    expect((e as CliError).exitCode).toBe(EXIT.usage);
    return (e as Error).message;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
};

describe('finetune options', () => {
  it('defaults: T-REX 4 x 8 with the model intuition on the bundled model and suite', () => {
    const o = parse();
    expect(o).toMatchObject({ model: { kind: 'bundled' }, data: null, evalData: null, method: 'trex', intuition: 'model', steps: DEFAULTS.steps, lr: DEFAULTS.lr, batch: DEFAULTS.batch, eval: false, out: 'runs/2025-01-02-03-04-05-trex' });
    const cfg = runConfigOf(o);
    expect(cfg).toMatchObject({ method: 'trex', init: 'fresh', steps: DEFAULTS.steps, batchSize: DEFAULTS.batch, lr: DEFAULTS.lr, schedule: 'cosine', seed: 0, maxLength: DEFAULTS.maxLen, intuition: { source: 'model', seed: 0 } });
    expect(cfg.warmupSteps).toBe(Math.round(DEFAULTS.steps * 0.05));
    expect(cfg.r1).toBeUndefined(); // the method's own defaults (4 x 8) apply in the engine
    expect(importOf(o)).toEqual({ input: { url: '/data/suite/train.jsonl' }, options: { maxLength: DEFAULTS.maxLen, seed: 0, validation: { url: '/data/suite/validation.jsonl' } } });
    expect(modelSourceOf(o.model, '/m/')).toBe(BUNDLED_MODEL_URL);
  });

  it('maps every option to the run configuration', () => {
    const o = parse('--method', 'trex', '--experts', '2x16', '--topk', '4', '--steps', '50', '--lr', '1e-3', '--batch', '8', '--accumulate', '2', '--max-len=64', '--seed', '7', '--schedule', 'linear', '--warmup', '0', '--eval', '--eval-limit', '10', '--out', 'x');
    expect(runConfigOf(o)).toEqual({
      method: 'trex', init: 'fresh', r1: 2, r2: 16, topk: 4, steps: 50, lr: 1e-3, batchSize: 8, accumulate: 2, maxLength: 64, seed: 7, schedule: 'linear', checkpointEvery: 50,
      intuition: { source: 'model', seed: 7 },
    });
    expect(o).toMatchObject({ eval: true, evalLimit: 10, out: 'x' });
    expect(runConfigOf(parse('--intuition-layer', '0')).intuition).toEqual({ source: 'model', seed: 0, layer: 0 });
    expect(runConfigOf(parse('--method', 'mor1e', '--experts', '16', '--intuition', 'none'))).toMatchObject({ method: 'mor1e', E: 16 });
    expect(runConfigOf(parse('--method', 'mor1e', '--intuition', 'none')).intuition).toBeUndefined();
    expect(runConfigOf(parse('--method', 'lora', '--rank', '8'))).toMatchObject({ method: 'lora', r: 8 });
    expect(runConfigOf(parse('--method', 'lora')).intuition).toBeUndefined();
    expect(runConfigOf(parse('--method', 'sira', '--rank', '16'))).toMatchObject({ method: 'sira', r: 16 });
    const ep = runConfigOf(parse('--epochs', '2'));
    expect(ep.epochs).toBe(2);
    expect(ep.steps).toBeUndefined();
  });

  it('model arguments: folder, URL, hub id (with a revision)', () => {
    expect(modelArg('models/tiny', fs)).toEqual({ kind: 'folder', path: resolve('models/tiny') });
    expect(modelArg('http://host/m', fs)).toEqual({ kind: 'url', url: 'http://host/m/' });
    expect(modelArg('HuggingFaceTB/SmolLM2-135M', fs)).toEqual({ kind: 'hub', repo: 'HuggingFaceTB/SmolLM2-135M' });
    expect(modelArg('owner/name@v1.0', fs)).toEqual({ kind: 'hub', repo: 'owner/name', revision: 'v1.0' });
    expect(modelSourceOf({ kind: 'hub', repo: 'a/b' }, '/m/', 'http://127.0.0.1:1')).toEqual({ kind: 'hub', repo: 'a/b', hubUrl: 'http://127.0.0.1:1' });
    expect(modelSourceOf({ kind: 'folder', path: '/x' }, '/__cli/model/')).toBe('/__cli/model/');
  });

  it('data: the suite by default, a file with a stratified split, or a file with a validation file', () => {
    const split = importOf(parse('--data', 'data/train.jsonl'));
    expect(split.input.url).toBe('/__cli/data/train/train.jsonl');
    expect(split.options).toMatchObject({ validationFraction: 0.1 });
    expect(split.options.validation).toBeUndefined();
    const both = importOf(parse('--data', 'data/train.jsonl', '--eval-data', 'data/val.jsonl'));
    expect(both.options.validation).toEqual({ url: '/__cli/data/validation/val.jsonl' });
    expect(importOf(parse('--eval-data', 'data/val.jsonl')).options.validation).toEqual({ url: '/__cli/data/validation/val.jsonl' });
    expect(importOf(parse('--data', 'data/train.jsonl', '--validation-fraction', '0.2')).options.validationFraction).toBe(0.2);
  });

  it('--columns maps a file of no known shape (for --eval-data too); a refused file suggests one guessed from its columns', () => {
    const o = parse('--data', 'data/train.jsonl', '--eval-data', 'data/val.jsonl', '--columns', 'prompt=question, answer=answer,task=category');
    expect(o.columns).toEqual({ prompt: 'question', answer: 'answer', task: 'category' });
    expect(importOf(o).options).toMatchObject({ mapping: { prompt: 'question', answer: 'answer', task: 'category' }, validation: { url: '/__cli/data/validation/val.jsonl' } });
    expect(importOf(parse('--data', 'data/train.jsonl')).options.mapping).toBeUndefined();
    expect(fail(['--columns', 'prompt=q,answer=a'])).toBe('--columns maps the columns of --data (the bundled suite has its own shape)');
    expect(fail(['--data', 'data/train.jsonl', '--columns', 'prompt=q'])).toBe('--columns needs answer=<column> (the column that holds the answer)');
    expect(fail(['--data', 'data/train.jsonl', '--columns', 'prompt=q,answer'])).toMatch(/^--columns: "answer" is not part=column/);
    expect(fail(['--data', 'data/train.jsonl', '--columns', 'prompt=q,answer=a,label=l'])).toBe('--columns: unknown part "label"; the parts are prompt, answer, task, input, choices, emb');
    expect(fail(['--data', 'data/train.jsonl', '--columns', 'prompt=q,answer=a,prompt=r'])).toBe('--columns: prompt is given twice');
    expect(unknownShapeMessage('qa.csv', ['question', 'answer', 'category'])).toMatch(/or say which column is which with --columns prompt=question,answer=answer,task=category \(guessed from the column names\)$/);
    expect(unknownShapeMessage('x.csv', ['a', 'b'])).toMatch(/--columns prompt=<column>,answer=<column>\[,task=<column>\]$/);
    // A validation file of no known shape: the importer's request for a mapping names the option.
    expect(dataImportMessage({ data: 't.csv' }, 'Error: the validation file v.csv has no known shape (fields a, b); give a column mapping')).toBe(
      '--data t.csv: the validation file v.csv has no known shape (fields a, b); say which column is which with --columns prompt=<column>,answer=<column>[,task=<column>]',
    );
  });

  it('bad options and files stop with a message naming them', () => {
    expect(fail(['--frobnicate'])).toBe('unknown option --frobnicate (see --help)');
    expect(fail(['stray'])).toMatch(/unexpected argument "stray"/);
    expect(fail(['--steps'])).toBe('--steps needs a value (see --help)');
    expect(fail(['--steps', '--eval'])).toBe('--steps needs a value (see --help)');
    expect(fail(['--steps', '0'])).toBe('--steps must be an integer ≥ 1, got 0');
    expect(fail(['--steps', '2.5'])).toBe('--steps must be an integer, got "2.5"');
    expect(fail(['--steps', '5', '--steps', '6'])).toBe('--steps is given twice');
    expect(fail(['--steps', '5', '--epochs', '1'])).toBe('give --steps or --epochs, not both');
    expect(fail(['--lr', '-1'])).toBe('--lr must be a positive number, got "-1"');
    expect(fail(['--lr', 'fast'])).toBe('--lr must be a positive number, got "fast"');
    expect(fail(['--batch', '0'])).toBe('--batch must be an integer ≥ 1, got 0');
    expect(fail(['--max-len', '1'])).toBe('--max-len must be an integer ≥ 2, got 1');
    expect(fail(['--method', 'qlora'])).toBe('--method must be one of trex, mor1e, lora, molora, sira; got "qlora"');
    expect(fail(['--schedule', 'step'])).toBe('--schedule must be one of constant, cosine, linear; got "step"');
    expect(fail(['--experts', '32'])).toMatch(/^--experts for trex is r1xr2/);
    expect(fail(['--method', 'mor1e', '--experts', '4x8'])).toMatch(/^--experts for mor1e is the expert count E/);
    expect(fail(['--method', 'lora', '--experts', '8'])).toMatch(/^--experts applies to trex \(r1xr2\) and mor1e \(E\)/);
    expect(fail(['--rank', '8'])).toMatch(/^--rank applies to lora, molora and sira/);
    expect(fail(['--method', 'molora', '--rank', '12'])).toBe('--rank for molora must be a multiple of 8 (8 experts of rank r/8), got 12');
    expect(fail(['--topk', '33'])).toBe('--topk 33 is more than the 32 experts');
    expect(fail(['--method', 'lora', '--topk', '2'])).toMatch(/^--topk applies to trex and mor1e/);
    expect(fail(['--method', 'lora', '--intuition', 'model'])).toMatch(/^--intuition applies to trex and mor1e/);
    expect(fail(['--intuition', 'bert'])).toBe('--intuition must be one of model, encoder, supplied, none; got "bert"');
    expect(fail(['--intuition', 'encoder'])).toMatch(/^--intuition encoder needs --encoder/);
    expect(fail(['--encoder', 'models/tiny'])).toBe('--encoder goes with --intuition encoder');
    expect(fail(['--intuition', 'none', '--intuition-layer', '1'])).toBe('--intuition-layer goes with --intuition model');
    expect(fail(['--intuition-layer', '-1'])).toBe('--intuition-layer must be an integer ≥ 0, got -1');
    expect(fail(['--warmup', '10', '--steps', '10'])).toBe('--warmup 10 must be fewer than the 10 steps');
    expect(fail(['--eval-limit', '5'])).toBe('--eval-limit goes with --eval');
    expect(fail(['--validation-fraction', '0.2'])).toMatch(/^--validation-fraction applies to a split of --data/);
    expect(fail(['--data', 'data/train.jsonl', '--validation-fraction', '1'])).toBe('--validation-fraction must be a number between 0 and 1, got "1"');
    expect(fail(['--port', '70000'])).toBe('--port must be at most 65535, got 70000');
    expect(fail(['--eval=yes'])).toBe('--eval takes no value');
    expect(fail(['--hub-url', 'ftp://x'])).toBe('--hub-url must be an http(s) URL, got "ftp://x"');
    // Files and folders.
    expect(fail(['--data', 'data/missing.jsonl'])).toBe('--data data/missing.jsonl: no such file');
    expect(fail(['--data', 'data'])).toBe('--data data: is a folder; give a JSONL, JSON, CSV or TSV file');
    expect(fail(['--eval-data', 'nope.csv'])).toBe('--eval-data nope.csv: no such file');
    expect(fail(['--model', 'models/empty'])).toMatch(/^--model models\/empty: the folder has no config.json/);
    expect(fail(['--model', 'data/train.jsonl'])).toMatch(/^--model data\/train.jsonl: is a file/);
    expect(fail(['--model', './models/gone'])).toBe('--model ./models/gone: no such folder, and not a URL or a Hugging Face id (owner/name)');
    expect(fail(['--model', 'not a model'])).toMatch(/no such folder, and not a URL/);
    expect(fail(['--out', 'out-file'])).toBe('--out out-file: is a file; give a folder (it is created if missing)');
    expect(fail(['--resume'])).toMatch(/^--resume continues the run in --out/);
    expect(fail(['--resume', '--out', 'elsewhere'])).toBe('--resume: elsewhere holds no checkpoint (checkpoint/run.json)');
    expect(parse('--resume', '--out', 'done').resume).toBe(true);
  });

  it('--help', () => {
    expect(parseFinetuneArgs(['--steps', '3', '--help'], fs)).toBe('help');
    expect(parseFinetuneArgs(['-h'], fs)).toBe('help');
    for (const opt of ['--model', '--data', '--eval-data', '--method', '--experts', '--rank', '--topk', '--intuition', '--steps', '--epochs', '--lr', '--batch', '--accumulate', '--max-len', '--seed', '--eval', '--out', '--help'])
      expect(FINETUNE_HELP).toContain(opt);
  });
});

describe('generate options', () => {
  it('prompt, adapter, compare', () => {
    expect(parseGenerateArgs(['--prompt', 'What is 2 + 3?'], fs)).toMatchObject({ model: { kind: 'bundled' }, adapter: null, prompt: 'What is 2 + 3?', compare: false, raw: false, maxNewTokens: 48, temperature: 0 });
    expect(parseGenerateArgs(['--adapter', 'ad', '--prompt', '--dashes first', '--compare', '--max-new-tokens', '8'], fs)).toMatchObject({ adapter: resolve('ad'), prompt: '--dashes first', compare: true, maxNewTokens: 8 });
    expect(parseGenerateArgs(['--help'], fs)).toBe('help');
    expect(GENERATE_HELP).toContain('--compare');
  });

  it('errors', () => {
    expect(fail([], true)).toBe('--prompt "…" is required (see --help)');
    expect(fail(['--prompt'], true)).toBe('--prompt needs a value (see --help)');
    expect(fail(['--prompt', 'x', '--adapter', 'missing'], true)).toBe('--adapter missing: no such folder');
    expect(fail(['--prompt', 'x', '--adapter', 'models/tiny'], true)).toMatch(/no mor1e_config.json or adapter_config.json there/);
    expect(fail(['--prompt', 'x', '--compare'], true)).toMatch(/^--compare compares the adapter with the base model/);
    expect(fail(['--prompt', 'x', '--temperature', '-1'], true)).toBe('--temperature must be a number ≥ 0, got "-1"');
    expect(fail(['--prompt', 'x', '--model', 'zzz'], true)).toMatch(/no such folder/);
  });
});

describe('progress and files', () => {
  it('formats durations and one progress line', () => {
    expect([formatDuration(null), formatDuration(5), formatDuration(75), formatDuration(3700)]).toEqual(['?', '5s', '1m15s', '1h01m']);
    const line = progressLine({ step: 12, total: 200, loss: 1.23456, tokensPerSecond: 512.4, etaSeconds: 192 }, 100);
    expect(line).toBe('step  12/200 [##............................] loss 1.2346  512 tok/s  ETA 3m12s');
    expect(progressLine({ step: 0, total: 10, loss: null, tokensPerSecond: 0, etaSeconds: null }, 60).length).toBeLessThanOrEqual(60);
    expect(recentLoss([NaN, 1, 2, 3], 2)).toBe(2.5);
    expect(recentLoss([])).toBeNull();
  });

  it('eval.json has the issue\'s shape; router groups are named by task', () => {
    const res = (a: number, b: number): EvalResult => ({ tasks: { add: { n: 4, accuracy: a }, mc: { n: 2, accuracy: b, likelihoodAccuracy: b } }, mean: (a + b) / 2, rows: [] });
    const doc = evalFile({ model: 'mor1e-tiny', method: 'trex', trainable: 1234, steps: 3, seconds: 9.5, adapter: 'google / swiftshader (fallback)' }, res(0, 0.5), res(0.25, 1));
    expect(doc).toEqual({
      model: 'mor1e-tiny', method: 'trex', trainable_parameters: 1234, steps: 3, seconds: 9.5, adapter: 'google / swiftshader (fallback)',
      tasks: { add: { n: 4, before: 0, after: 0.25 }, mc: { n: 2, before: 0.5, after: 1 } }, mean: { before: 0.25, after: 0.625 },
    });
    const g = { f: [1], P: [1], G: [1], entropy: 0, tokens: 3 };
    expect(namedRouterStats([{ key: '0.q', E: 1, groups: [g, g, g], balance: 1 }], ['add', 'mc'])).toEqual([{ layer: '0.q', E: 1, balance: 1, groups: { all: g, add: g, mc: g } }]);
  });
});

describe('compare options and RESULTS.md', () => {
  const cmp = (...argv: string[]) => parseCompareArgs(argv, fs) as CompareOptions;
  const cfail = (argv: string[]) => {
    try {
      parseCompareArgs(argv, fs);
    } catch (e) {
      expect(e).toBeInstanceOf(CliError);
      return (e as Error).message;
    }
    throw new Error(`no error for ${argv.join(' ')}`);
  };

  it('defaults: all eight methods, seeds 0, 1, 2, RESULTS.md and RESULTS.json; shared options go through finetune\'s checks', () => {
    const o = cmp('--steps', '20', '--batch', '4', '--intuition-layer', '0', '--eval-limit', '5');
    expect(o.variants.map((v) => v.id)).toEqual(['lora', 'molora', 'sira', 'mor1e', 'trex', 'trex-topk', 'trex-no-intuition', 'trex-intuition-only']);
    expect(o.seeds).toEqual([0, 1, 2]);
    expect(o.results).toBe(resolve('RESULTS.md'));
    expect(o.json).toBe(resolve('RESULTS.json'));
    expect(o.base).toMatchObject({ steps: 20, batch: 4, eval: true, evalLimit: 5, intuitionLayer: 0 });
    expect(cmp('--seeds', '2').seeds).toEqual([0, 1]);
    expect(cmp('--seeds', '4,7').seeds).toEqual([4, 7]);
    expect(cmp('--variants', 'trex,lora').variants.map((v) => v.id)).toEqual(['lora', 'trex']);
    expect(o.continue).toBe(false);
    expect(cmp('--continue', '--seeds', '1,2').continue).toBe(true);
  });

  it('each variant\'s run: its method and options, the shared settings, the seed; intuition only where the variant has one', () => {
    const o = cmp('--steps', '20', '--lr', '0.004', '--intuition-layer', '1');
    const by = (id: string) => compareRunConfig(o.base, COMPARE_VARIANTS.find((v) => v.id === id)!, 7);
    expect(by('lora')).toMatchObject({ method: 'lora', r: 32, steps: 20, lr: 0.004, seed: 7 });
    expect(by('lora').intuition).toBeUndefined();
    expect(by('trex')).toMatchObject({ method: 'trex', r1: 4, r2: 8, intuition: { source: 'model', layer: 1, seed: 7 } });
    expect(by('trex-topk').topk).toBe(8);
    expect(by('trex-no-intuition')).toMatchObject({ useIntuition: false });
    expect(by('trex-no-intuition').intuition).toBeUndefined();
    expect(by('trex-intuition-only')).toMatchObject({ useRouter: false, intuition: { source: 'model' } });
    expect(by('mor1e')).toMatchObject({ method: 'mor1e', E: 32 });
  });

  it('--lr-for gives named methods their own learning rate; the others keep the shared one', () => {
    const o = cmp('--lr', '0.005', '--lr-for', 'lora=0.001, sira=2e-3', '--variants', 'lora,sira,trex');
    expect(o.lrFor).toEqual({ lora: 0.001, sira: 0.002 });
    expect(cmp().lrFor).toEqual({});
    const by = (id: string) => compareRunConfig(o.base, COMPARE_VARIANTS.find((v) => v.id === id)!, 0, o.lrFor[id] ?? o.base.lr);
    expect(by('lora').lr).toBe(0.001);
    expect(by('sira').lr).toBe(0.002);
    expect(by('trex').lr).toBe(0.005);
    expect(cfail(['--lr-for', 'lora'])).toBe('--lr-for lora: give method=lr, e.g. lora=0.001');
    expect(cfail(['--lr-for', 'gpt=0.1'])).toMatch(/^--lr-for: unknown method "gpt"; choose from lora, molora/);
    expect(cfail(['--lr-for', 'lora=0.001', '--variants', 'trex'])).toBe('--lr-for: lora is not among the methods compared (trex)');
    expect(cfail(['--lr-for', 'lora=0.001,lora=0.002'])).toBe('--lr-for: lora is given twice');
    expect(cfail(['--lr-for', 'lora=-1'])).toBe('--lr-for lora must be a positive number, got "-1"');
    expect(cfail(['--lr-for', ','])).toBe('--lr-for needs method=lr pairs, e.g. lora=0.001');
  });

  it('bad options name what was wrong', () => {
    expect(cfail(['--method', 'lora'])).toBe('--method: compare sets the method and its options per variant (choose them with --variants)');
    expect(cfail(['--seed', '1'])).toBe('--seed: compare takes --seeds <a,b,c | N>');
    expect(cfail(['--variants', 'trex,gpt'])).toMatch(/^--variants: unknown method "gpt"; choose from lora, molora/);
    expect(cfail(['--seeds', '1,1'])).toBe('--seeds 1,1: a seed is given twice');
    expect(cfail(['--seeds', 'x'])).toBe('--seeds must be an integer, got "x"');
    expect(cfail(['--results', 'out.txt'])).toBe('--results out.txt: give a Markdown file name (…md)');
    expect(cfail(['--steps', '0'])).toBe('--steps must be an integer ≥ 1, got 0');
    expect(cfail(['--continue=yes'])).toBe('--continue takes no value');
    expect(parseCompareArgs(['--help'], fs)).toBe('help');
  });

  it('the table: mean ± sd over seeds per task, paired differences to LoRA, notes kept', () => {
    const ev = (method: string, after: Record<string, number>, mean: number) => ({
      model: 'm', method, trainable_parameters: method === 'lora' ? 1000 : 600, steps: 5, seconds: 10, adapter: 'a',
      tasks: Object.fromEntries(Object.entries(after).map(([t, a]) => [t, { n: 10, before: 0, after: a }])), mean: { before: 0, after: mean },
    });
    const doc: CompareDoc = {
      date: '2026-11-29', model: 'm', data: 'd', adapter: 'a',
      settings: { steps: 5, epochs: null, batch: 2, accumulate: 1, lr: 0.001, schedule: 'cosine', warmup: 1, maxLen: 64, evalLimit: 10, intuitionLayer: 0 },
      seeds: [0, 1], variants: [{ id: 'lora', label: 'LoRA r = 32' }, { id: 'trex', label: 'T-REX 4 x 8, dense' }], tasks: ['x', 'y'],
      base: { tasks: { x: { n: 10, accuracy: 0 }, y: { n: 10, accuracy: 0.5 } }, mean: 0.25 },
      runs: [
        { variant: 'lora', seed: 0, eval: ev('lora', { x: 0.2, y: 0.6 }, 0.4), loss: { first: 3, last: 2 }, skipped: 0 },
        { variant: 'lora', seed: 1, eval: ev('lora', { x: 0.4, y: 0.6 }, 0.5), loss: { first: 3, last: 2 }, skipped: 0 },
        { variant: 'trex', seed: 0, eval: ev('trex', { x: 0.5, y: 0.7 }, 0.6), loss: { first: 3, last: 1.5 }, skipped: 0 },
        { variant: 'trex', seed: 1, eval: ev('trex', { x: 0.7, y: 0.7 }, 0.7), loss: { first: 3, last: 1.4 }, skipped: 0 },
      ],
    };
    const md = resultsMarkdown(doc, 'T-REX wins here because…');
    expect(md).toContain('| base model (no adapter) | 0 | 0.0 | 50.0 | **25.0** | — |');
    // LoRA x: 20 and 40 → 30.0 ± 14.1; mean 45.0 ± 7.1.
    expect(md).toContain('| LoRA r = 32 | 1,000 | 30.0 ± 14.1 | 60.0 ± 0.0 | **45.0 ± 7.1** | 10s |');
    expect(md).toContain('| T-REX 4 x 8, dense | 600 | 60.0 ± 14.1 | 70.0 ± 0.0 | **65.0 ± 7.1** | 10s |');
    // Paired differences +20, +20: every seed agrees, the standard error is 0: clear.
    expect(md).toContain('| T-REX 4 x 8, dense | +20.0, +20.0 | +20.0 | clearly better |');
    expect(md).toContain('<!-- notes: kept when the file is written again -->\nT-REX wins here because…\n<!-- /notes -->');
    // A method at its own learning rate: named in the settings line and in every table.
    const own = resultsMarkdown({ ...doc, settings: { ...doc.settings, lrFor: { lora: 0.0005 } } }, null);
    expect(own).toContain('AdamW lr 0.001; at their own lr: LoRA r = 32 0.0005 (cosine, 1 warmup steps)');
    expect(own).toContain('| LoRA r = 32, lr 0.0005 | 1,000 | 30.0 ± 14.1 |');
    expect(own).toContain('| LoRA r = 32, lr 0.0005 | 40.0 | 50.0 |');
    expect(md).not.toContain('own lr');
  });

  it('--continue keeps the runs of a file made the same way, and refuses one made otherwise', () => {
    const ev = (mean: number) => ({ model: 'm', method: 'lora', trainable_parameters: 1, steps: 5, seconds: 1, adapter: 'gpu', tasks: { x: { n: 4, before: 0, after: mean } }, mean: { before: 0, after: mean } });
    const settings = { steps: 5, epochs: null, batch: 2, accumulate: 1, lr: 0.001, schedule: 'cosine', warmup: 1, maxLen: 64, evalLimit: null, intuitionLayer: null };
    const prev: CompareDoc = {
      date: '2026-11-29', model: 'm', data: 'd', adapter: 'gpu', runner: 'node-dawn', settings, seeds: [0, 1, 2], variants: [], tasks: ['x'], base: { tasks: { x: { n: 4, accuracy: 0 } }, mean: 0 },
      runs: [
        { variant: 'trex', seed: 0, eval: ev(0.5), loss: { first: 2, last: 1 }, skipped: 0 },
        { variant: 'lora', seed: 0, eval: ev(0.3), loss: { first: 2, last: 1 }, skipped: 0 },
      ],
    };
    const now: CompareDoc = { ...prev, date: '2026-12-01', seeds: [1, 2], runs: [] };
    expect(continuedRuns(prev, now)).toEqual({ runs: prev.runs });
    expect(continuedRuns(prev, { ...now, adapter: 'other' })).toEqual({ differs: 'GPU adapter: gpu in the file, other now' });
    expect(continuedRuns(prev, { ...now, runner: 'chromium' })).toEqual({ differs: 'runner: node-dawn in the file, chromium now' });
    expect(continuedRuns(prev, { ...now, settings: { ...settings, lr: 0.002 } })).toMatchObject({ differs: expect.stringMatching(/^settings: .*"lr":0.001.* in the file, .*"lr":0.002.* now$/) });
    expect(continuedRuns(prev, { ...now, tasks: ['x', 'y'] })).toEqual({ differs: 'tasks: x in the file, x,y now' });
    // Runs at other learning rates do not mix with these.
    expect(continuedRuns(prev, { ...now, settings: { ...settings, lrFor: { lora: 0.0005 } } })).toMatchObject({ differs: expect.stringMatching(/^settings: .* now$/) });
    // Seeds and methods: the file's and the new ones, in order (methods in the table's order).
    expect(mergedLists(prev.runs, [2, 1], ['molora'])).toEqual({
      seeds: [0, 1, 2],
      variants: [{ id: 'lora', label: 'LoRA r = 32' }, { id: 'molora', label: 'MoLoRA r = 32 (8 experts)' }, { id: 'trex', label: 'T-REX 4 x 8, dense' }],
    });
    expect(resultsMarkdown({ ...prev, variants: [{ id: 'trex', label: 'T-REX' }] }, null)).toMatch(/^Written by `npm run compare:node` \(Node, Dawn\) on 2026-11-29\./m);
    expect(resultsMarkdown({ ...prev, runner: undefined }, null)).toMatch(/^Written by `npm run compare` on /m);
  });
});
