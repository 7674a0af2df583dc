// Node-side access to the committed test models (e2e/fixtures/models) as ModelFiles.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { filesFromBlobs, type ModelFiles } from '../src/model/sources.ts';

export const MODELS_DIR = join(import.meta.dirname, '..', 'e2e', 'fixtures', 'models');

/** The causal language-model fixtures (the sentence encoder tiny-bert has its own tests: tests/encoder.test.ts). */
export function fixtureNames(): string[] {
  return readdirSync(MODELS_DIR).filter((d) => {
    const config = join(MODELS_DIR, d, 'config.json');
    return existsSync(config) && (JSON.parse(readFileSync(config, 'utf8')) as { model_type?: string }).model_type !== 'bert';
  });
}

/** A fixture folder as ModelFiles, optionally with files replaced or removed (null). */
export function fixtureFiles(name: string, overrides: Record<string, Uint8Array | string | null> = {}): ModelFiles {
  const dir = join(MODELS_DIR, name);
  const files = readdirSync(dir)
    .filter((f) => !(f in overrides))
    .map((f) => ({ name: f, blob: new Blob([readFileSync(join(dir, f))]) }));
  for (const [f, v] of Object.entries(overrides)) if (v !== null) files.push({ name: f, blob: new Blob([v as BlobPart]) });
  return filesFromBlobs(files, `fixture ${name}`);
}

export function fixtureBytes(name: string, file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(MODELS_DIR, name, file)));
}

export interface Golden {
  ids: number[];
  vocab_size: number;
  dtype: string;
  logits: number[];
}

export function golden(name: string): Golden {
  return JSON.parse(readFileSync(join(MODELS_DIR, name, 'golden.json'), 'utf8')) as Golden;
}
