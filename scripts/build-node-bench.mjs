// Bundles bench/node/bench-node.ts (TypeScript, engine, ops) into one ESM file that plain Node
// runs: bench/dist/bench-node.mjs. The `webgpu` package stays external (its dawn.node binary
// is loaded at run time, or from $DAWN_NODE).
import { build } from 'esbuild';

await build({
  entryPoints: ['bench/node/bench-node.ts'],
  outfile: 'bench/dist/bench-node.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  logLevel: 'warning',
});
console.log('built bench/dist/bench-node.mjs');
