// Datasets through the app's worker (window.mor1e.importDataset / peekBatches): imports by URL
// and by text, problems by line, tokenization when a model arrives, batches identical to the
// same pipeline run in Node, and a peeked batch (padded, masked) training on the GPU.
import { test, expect, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TextTokenizer } from '../src/model/tokenizer.ts';
import { Dataset } from '../src/data/dataset.ts';
import { StudioPage } from './pages.ts';

const FIX = join(import.meta.dirname, 'fixtures');

function nodeTokenizer(model: string) {
  const json = (f: string) => JSON.parse(readFileSync(join(FIX, 'models', model, f), 'utf8'));
  const cfg = json('config.json');
  const tok = new TextTokenizer(json('tokenizer.json'), json('tokenizer_config.json'));
  return { tok, eosId: tok.eosId ?? cfg.eos_token_id ?? null, maxPositions: cfg.max_position_embeddings ?? cfg.n_positions };
}

async function openApp(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
}

test.describe.configure({ mode: 'serial' });

test('imports by URL, reports problems by line, tokenizes when a model loads; batches equal the Node pipeline', async ({ page }) => {
  test.setTimeout(180_000);
  await openApp(page);
  const url = '/e2e/fixtures/data/tasks.jsonl';
  const before = await page.evaluate((u) => window.mor1e!.importDataset({ url: u }, { seed: 5, validationFraction: 0.25 }), url);
  expect(before).toMatchObject({ name: 'tasks.jsonl', format: 'jsonl', shape: 'paper', rows: 26, kept: 24, refused: 2, tokenized: false, multipleChoice: 8 });
  expect(before.tasks).toEqual({ add: 8, reverse: 8, sentiment: 8 });
  expect(before.problems.filter((p) => !p.message.startsWith('duplicate')).map((p) => [p.line, p.field ?? null])).toEqual([[6, null], [10, 'instruction']]);
  expect(before.problems[0].message).toMatch(/^bad JSON at column 37: /);
  await expect(page.evaluate(() => window.mor1e!.peekBatches({ split: 'train', count: 1, batchSize: 2 }))).rejects.toThrow(/load a model first/);

  await page.evaluate(() => window.mor1e!.loadModel('/e2e/fixtures/models/tiny-llama/'));
  await expect.poll(() => page.evaluate(() => window.mor1e!.dataState().result?.tokenized)).toBe(true);
  const after = await page.evaluate(() => window.mor1e!.dataState().result!);
  expect(after).toMatchObject({ kept: 24, train: 18, validation: 6 });

  // The same file through the same pipeline in Node: identical batches.
  const node = await Dataset.import({ name: 'tasks.jsonl', text: readFileSync(join(FIX, 'data', 'tasks.jsonl'), 'utf8') }, { seed: 5, validationFraction: 0.25 }, nodeTokenizer('tiny-llama'));
  const req = { split: 'train' as const, count: 12, batchSize: 4 };
  const gpuSide = await page.evaluate((r) => window.mor1e!.peekBatches(r), req);
  expect(gpuSide).toEqual(node.peekBatches(req));
  expect(await page.evaluate((r) => window.mor1e!.peekBatches(r), req)).toEqual(gpuSide); // peeking moves nothing
  const val = await page.evaluate(() => window.mor1e!.peekBatches({ split: 'validation', count: 10, batchSize: 4 }));
  expect(val.flatMap((b) => b.task).sort()).toEqual([0, 0, 1, 1, 2, 2]);
});

test('CSV with a BOM, multiple choice by text, index and letter; a failed import keeps the previous dataset', async ({ page }) => {
  test.setTimeout(120_000);
  await openApp(page);
  await page.evaluate(() => window.mor1e!.loadModel('/e2e/fixtures/models/tiny-gpt2/'));
  const r = await page.evaluate(() => window.mor1e!.importDataset({ url: '/e2e/fixtures/data/choices.csv' }, { mapping: { prompt: 'question', choices: 'choices', answer: 'answer', task: 'subject' }, validationFraction: 0 }));
  expect(r).toMatchObject({ format: 'csv', shape: 'mapped', kept: 3, refused: 1, multipleChoice: 3, tokenized: true });
  expect(r.problems).toEqual([{ line: 4, field: 'answer', message: 'answer "C" names no choice (expected A–B, an index 0–1, or a choice\'s text)' }]);
  const unknown = await page.evaluate(() => window.mor1e!.importDataset({ url: '/e2e/fixtures/data/choices.csv' }));
  expect(unknown.shape).toBe('multiple-choice'); // question + choices + answer is recognised without a mapping
  const unmapped = await page.evaluate(() => window.mor1e!.importDataset({ name: 'odd.jsonl', text: '{"q": "a", "label": "b"}\n' }));
  expect(unmapped).toMatchObject({ shape: 'unknown', columns: ['q', 'label'], kept: 0 });
  expect(await page.evaluate(() => window.mor1e!.dataState())).toMatchObject({ result: { name: 'choices.csv' }, unmapped: { name: 'odd.jsonl' } });
  await expect(page.evaluate(() => window.mor1e!.importDataset({ name: 'bad.jsonl', text: '{"instruction": 1, "output": "x"}\n' }))).rejects.toThrow(/no usable row/);
  expect(await page.evaluate(() => window.mor1e!.dataState())).toMatchObject({ error: expect.stringMatching(/no usable row/), result: { name: 'choices.csv' } });
  await expect(page.evaluate(() => window.mor1e!.importDataset({ url: '/e2e/fixtures/data/missing.jsonl' }))).rejects.toThrow(/HTTP 404/);
});

test('a padded batch from the pipeline trains on the GPU: the loss falls', async ({ page }) => {
  test.setTimeout(240_000);
  await openApp(page);
  await page.evaluate(() => window.mor1e!.loadModel('/e2e/fixtures/models/tiny-gpt2/'));
  await page.evaluate(() => window.mor1e!.importDataset({ url: '/e2e/fixtures/data/tasks.jsonl' }, { validationFraction: 0 }));
  const [b] = await page.evaluate(() => window.mor1e!.peekBatches({ split: 'train', count: 1, batchSize: 4 }));
  expect(b.mask.some((m) => m === 0)).toBe(true); // rows of different lengths: padding present
  const { losses } = await page.evaluate(
    (batch) => window.mor1e!.finetune({ adapter: { method: 'lora', r: 4, alpha: 8 }, batch: { ...batch, s: null }, steps: 12, hyper: { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 }, seed: 1 }),
    b,
  );
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses[11]).toBeLessThan(losses[0] * 0.7);
});

test('the Data panel: a picked file, its problems by line, a column mapping, the bundled suite', async ({ page }) => {
  test.setTimeout(120_000);
  await openApp(page);
  await new StudioPage(page).goto('data');
  await page.getByTestId('data-file').setInputFiles(join(FIX, 'data', 'tasks.jsonl'));
  const summary = page.getByTestId('data-summary');
  await expect(summary).toContainText('tasks.jsonl');
  await expect(summary).toContainText('24 rows kept of 26 (2 refused');
  await expect(page.getByTestId('data-problems')).toContainText('line 6: bad JSON at column 37');
  await expect(page.getByTestId('data-problems')).toContainText('line 10, instruction: missing field "instruction"');
  // No known shape: the columns are offered; the mapped import replaces the summary.
  await page.getByTestId('data-file').setInputFiles({ name: 'odd.csv', mimeType: 'text/csv', buffer: Buffer.from('q,label,subject\n<b>what</b>?,yes,a\nwhy?,no,b\n') });
  await expect(page.getByTestId('data-mapping')).toBeVisible();
  await expect(summary).toContainText('tasks.jsonl'); // the previous dataset stays until the mapping is given
  // Guessed from the names where they say it ("label", "subject"); "q" is left to the user.
  await expect(page.getByTestId('map-answer')).toHaveValue('label');
  await expect(page.getByTestId('map-task')).toHaveValue('subject');
  await expect(page.getByTestId('map-prompt')).toHaveValue('');
  await expect(page.getByTestId('map-import')).toBeDisabled();
  await page.getByTestId('map-prompt').selectOption('q');
  await page.getByRole('button', { name: 'Import with this mapping' }).click();
  await expect(summary).toContainText('odd.csv');
  await expect(summary).toContainText('shape mapped');
  // Another file of no known shape gets its own form: question / answer / category are all recognised, one click imports.
  await page.getByTestId('data-file').setInputFiles({ name: 'qa.csv', mimeType: 'text/csv', buffer: Buffer.from('question,answer,category\nWhat is 2 plus 3?,5,math\nSpell cat backwards,tac,spell\n') });
  await expect(page.getByTestId('data-mapping')).toContainText('qa.csv: no known shape');
  await expect(page.getByTestId('map-prompt')).toHaveValue('question');
  await expect(page.getByTestId('map-input')).toHaveValue('');
  await page.getByTestId('map-import').click();
  await expect(summary).toContainText('qa.csv');
  await expect(page.getByTestId('data-tasks').locator('tbody tr')).toHaveCount(2);
  await page.getByTestId('data-suite').click();
  await expect(summary).toContainText('4400 rows kept of 4400'); // train.jsonl and its validation.jsonl
  await expect(page.locator('b')).toHaveCount(0); // data text is never rendered as HTML
});
