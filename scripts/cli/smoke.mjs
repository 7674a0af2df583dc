// npm run test:cli — the headless CLI end to end (no Playwright test runner: the CLI launches
// Chromium itself). On the bundled model with a small slice of the suite (8 rows per task, a
// stratified split): a 3-step T-REX run with --eval checks every file it writes and eval.json's
// schema; generate --adapter --compare prints both generations; Ctrl-C pauses a longer run, keeps
// its checkpoint (exit 130) and --resume finishes it; bad options and a bad data file stop with
// the documented message and exit status 2; compare trains all eight methods for two steps and
// writes a table with every one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'mor1e-cli-'));
const t0 = Date.now();
const say = (s) => console.log(`[cli smoke ${((Date.now() - t0) / 1000).toFixed(0)}s] ${s}`);

/** Runs a CLI command; resolves to { code, stdout, stderr }. `onOut` sees stdout as it comes (and the child). */
function cli(command, args, onOut) {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [join(root, 'scripts', 'cli', 'run.mjs'), command, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      onOut?.(stdout, child);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code: code ?? signal, stdout, stderr }));
  });
}

function show(r) {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

// A slice of the suite: the first 8 rows of each task.
const perTask = new Map();
for (const line of readFileSync(join(root, 'public', 'data', 'suite', 'train.jsonl'), 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const row = JSON.parse(line);
  const rows = perTask.get(row.task) ?? [];
  if (rows.length < 8) rows.push(line);
  perTask.set(row.task, rows);
}
const data = join(tmp, 'slice.jsonl');
writeFileSync(data, [...perTask.values()].flat().join('\n') + '\n');
const tasks = [...perTask.keys()].sort();

try {
  // 1. Bad options and files: the documented messages, exit status 2, before any browser starts.
  for (const [args, message] of [
    [['--steps', '0'], 'finetune: --steps must be an integer ≥ 1, got 0'],
    [['--frobnicate'], 'finetune: unknown option --frobnicate (see --help)'],
    [['--data', join(tmp, 'missing.jsonl')], `finetune: --data ${join(tmp, 'missing.jsonl')}: no such file`],
    [['--method', 'lora', '--experts', '4x8'], 'finetune: --experts applies to trex (r1xr2) and mor1e (E); lora has no experts: use --rank'],
  ]) {
    const r = await cli('finetune', args);
    assert.equal(r.code, 2, show(r));
    assert.equal(r.stderr.trim(), message, show(r));
  }
  const help = await cli('finetune', ['--help']);
  assert.equal(help.code, 0, show(help));
  assert.match(help.stdout, /--experts <r1xr2 \| E>/);
  const genBad = await cli('generate', ['--prompt', 'x', '--adapter', tmp]);
  assert.equal(genBad.code, 2, show(genBad));
  assert.match(genBad.stderr, /no mor1e_config.json or adapter_config.json there/);
  say('option errors: ok');

  // A data file with no usable row: the importer's message, exit 2.
  const bad = join(tmp, 'bad.jsonl');
  writeFileSync(bad, '{"instruction": "no answer here"}\nnot json\n');
  const badRun = await cli('finetune', ['--data', bad, '--steps', '1', '--out', join(tmp, 'bad-out')]);
  assert.equal(badRun.code, 2, show(badRun));
  assert.match(badRun.stderr, new RegExp(`^finetune: --data ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no known shape \\(columns instruction\\)`, 'm'), show(badRun));
  say('bad data file: ok');

  // A question / answer CSV (no known shape): refused with a --columns guessed from its header; with it, it trains.
  const qa = join(tmp, 'qa.csv');
  const qaRows = Array.from({ length: 10 }, (_, i) => [`"What is ${i} plus 2?",${i + 2},math`, `"Spell ${['cat', 'dog', 'sun', 'map', 'pen'][i % 5]} backwards",${['tac', 'god', 'nus', 'pam', 'nep'][i % 5]},spell`]).flat();
  writeFileSync(qa, ['question,answer,category', ...qaRows].join('\n') + '\n');
  const qaBad = await cli('finetune', ['--data', qa, '--method', 'lora', '--steps', '1', '--out', join(tmp, 'qa-bad')]);
  assert.equal(qaBad.code, 2, show(qaBad));
  assert.match(qaBad.stderr, /or say which column is which with --columns prompt=question,answer=answer,task=category \(guessed from the column names\)$/m, show(qaBad));
  const qaOut = join(tmp, 'qa-out');
  const qaRun = await cli('finetune', ['--data', qa, '--columns', 'prompt=question,answer=answer,task=category', '--method', 'lora', '--rank', '4', '--steps', '1', '--batch', '2', '--out', qaOut]);
  assert.equal(qaRun.code, 0, show(qaRun));
  assert.match(qaRun.stdout, /data: qa\.csv: 20 rows \(\d+ train, \d+ validation\), 2 tasks/, show(qaRun));
  assert.equal(JSON.parse(readFileSync(join(qaOut, 'metrics.json'), 'utf8')).rows.length, 1);
  say('--columns: ok');

  // 2. A 3-step T-REX run with the evaluation: every file it writes.
  const out = join(tmp, 'run');
  const r = await cli('finetune', ['--data', data, '--steps', '3', '--batch', '4', '--eval', '--out', out, '--seed', '1']);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /WebGPU adapter: /);
  assert.match(r.stdout, /step 3\/3/);
  const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
  assert.equal(metrics.rows.length, 3);
  for (const row of metrics.rows) for (const k of ['step', 'loss', 'lr', 'gradNorm', 'skipped', 'tokens', 'seconds']) assert.ok(k in row, `metric row lacks ${k}`);
  assert.ok(metrics.rows.every((row) => Number.isFinite(row.loss)));
  assert.equal(metrics.state.status, 'finished');
  assert.equal(metrics.config.method, 'trex');
  assert.equal(metrics.routerStats.lastStep.length, 28, 'a router statistics entry per adapted layer (4 blocks x 7 linears)');
  for (const l of metrics.routerStats.mean) {
    assert.equal(l.E, 32);
    assert.ok('all' in l.groups);
    for (const name of Object.keys(l.groups)) assert.ok(name === 'all' || tasks.includes(name), `router group ${name}`);
  }
  const ev = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'));
  assert.deepEqual(Object.keys(ev), ['model', 'method', 'trainable_parameters', 'steps', 'seconds', 'adapter', 'tasks', 'mean']);
  assert.equal(ev.model, 'mor1e-tiny');
  assert.equal(ev.method, 'trex');
  assert.ok(Number.isInteger(ev.trainable_parameters) && ev.trainable_parameters > 0);
  assert.equal(ev.steps, 3);
  assert.ok(ev.seconds > 0);
  assert.equal(typeof ev.adapter, 'string');
  assert.deepEqual(Object.keys(ev.tasks).sort(), tasks);
  const unit = (x) => typeof x === 'number' && x >= 0 && x <= 1;
  for (const t of Object.values(ev.tasks)) {
    assert.deepEqual(Object.keys(t), ['n', 'before', 'after']);
    assert.ok(Number.isInteger(t.n) && t.n >= 1);
    assert.ok(unit(t.before) && unit(t.after));
  }
  assert.deepEqual(Object.keys(ev.mean), ['before', 'after']);
  assert.ok(unit(ev.mean.before) && unit(ev.mean.after));
  const config = JSON.parse(readFileSync(join(out, 'adapter', 'mor1e_config.json'), 'utf8'));
  assert.equal(config.format, 'mor1e-adapter');
  assert.equal(config.method, 'trex');
  assert.equal(config.intuition.source, 'model');
  const st = readFileSync(join(out, 'adapter', 'adapter_model.safetensors'));
  const header = JSON.parse(st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString('utf8'));
  const numel = Object.entries(header).filter(([k]) => k !== '__metadata__').reduce((n, [, t]) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(numel, ev.trainable_parameters, 'the exported tensors hold every trainable parameter');
  assert.ok(existsSync(join(out, 'adapter', 'intuition.safetensors')));
  const rec = JSON.parse(readFileSync(join(out, 'checkpoint', 'run.json'), 'utf8'));
  assert.equal(rec.step, 3);
  assert.ok(existsSync(join(out, 'checkpoint', rec.latest, 'state.bin')));
  say('finetune --eval: ok');

  // 3. generate through the adapter, beside the base model.
  const g = await cli('generate', ['--adapter', join(out, 'adapter'), '--compare', '--prompt', 'What is 14 + 47?', '--max-new-tokens', '6']);
  assert.equal(g.code, 0, show(g));
  assert.match(g.stdout, /── base model \(mor1e-tiny\) ──\n[^]*── with the adapter/);
  say('generate --compare: ok');

  // 4. Ctrl-C pauses a run and keeps its checkpoint; --resume finishes it.
  const out2 = join(tmp, 'interrupted');
  let sent = false;
  const i = await cli('finetune', ['--data', data, '--steps', '12', '--batch', '2', '--intuition', 'none', '--out', out2], (so, child) => {
    if (!sent && /step +[1-9]\d*\/12/.test(so)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  assert.equal(i.code, 130, show(i));
  assert.match(i.stdout, /paused at step \d+\/12/);
  const paused = JSON.parse(readFileSync(join(out2, 'checkpoint', 'run.json'), 'utf8'));
  assert.equal(paused.status, 'paused');
  assert.ok(paused.step >= 1 && paused.step < 12, `paused at ${paused.step}`);
  const resumed = await cli('finetune', ['--data', data, '--resume', '--out', out2]);
  assert.equal(resumed.code, 0, show(resumed));
  const m2 = JSON.parse(readFileSync(join(out2, 'metrics.json'), 'utf8'));
  assert.equal(m2.state.status, 'finished');
  assert.deepEqual(m2.rows.map((row) => row.step), Array.from({ length: 12 }, (_, k) => k + 1));
  say(`Ctrl-C at step ${paused.step}, --resume to 12: ok`);
  // 5. compare on a tiny configuration: every method once, the table with every method; LoRA at its own lr.
  const results = join(tmp, 'cmp', 'RESULTS.md');
  const c = await cli('compare', ['--data', data, '--steps', '2', '--batch', '2', '--max-len', '64', '--eval-limit', '1', '--seeds', '1', '--intuition-layer', '0', '--lr-for', 'lora=0.02', '--results', results, '--out', join(tmp, 'cmp', 'runs')]);
  assert.equal(c.code, 0, show(c));
  const doc = JSON.parse(readFileSync(join(tmp, 'cmp', 'RESULTS.json'), 'utf8'));
  const ids = ['lora', 'molora', 'sira', 'mor1e', 'trex', 'trex-topk', 'trex-no-intuition', 'trex-intuition-only'];
  assert.deepEqual(doc.runs.map((x) => x.variant), ids);
  assert.deepEqual(doc.tasks.sort(), tasks);
  for (const run of doc.runs) {
    assert.equal(run.eval.steps, 2);
    assert.ok(run.eval.trainable_parameters > 0);
    assert.equal(run.seed, 0); // --seeds 1: one seed, 0
    assert.ok(existsSync(join(tmp, 'cmp', 'runs', '0', run.variant, 'eval.json')));
    const { config } = JSON.parse(readFileSync(join(tmp, 'cmp', 'runs', '0', run.variant, 'metrics.json'), 'utf8'));
    assert.equal(config.lr, run.variant === 'lora' ? 0.02 : doc.settings.lr, `${run.variant}'s learning rate`);
  }
  assert.deepEqual(doc.settings.lrFor, { lora: 0.02 });
  const md = readFileSync(results, 'utf8');
  const label = (v) => (v.id === 'lora' ? `${v.label}, lr 0.02` : v.label);
  for (const v of doc.variants) assert.match(md, new RegExp(`^\\| ${label(v).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\| [\\d,]+ \\|`, 'm'), `RESULTS.md has a row for ${label(v)}`);
  assert.match(md, /\| base model \(no adapter\) \| 0 \|/);
  say('compare (8 methods x 1 seed): ok');
  say('all passed');
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
