// Every WGSL file under a shaders/ folder, read from disk (Node entry points only).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { ShaderSources } from './engine.ts';

export function loadShaders(dir: string): ShaderSources {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.wgsl')) out[relative(dir, p).split(sep).join('/').replace(/\.wgsl$/, '')] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}
