// Bundles the Node entry points into single ESM files that plain Node runs, for GPU machines
// without a browser: bench/node/bench-node.ts → bench/dist/bench-node.mjs (npm run bench:node) and
// scripts/cli/compare-node.ts → bench/dist/compare-node.mjs (npm run compare:node). Everything but
// the `webgpu` package is bundled (its dawn.node binary is loaded at run time, or from $DAWN_NODE),
// so such a machine needs node, dawn.node and the repository's shaders/ and public/: no node_modules.
import { build } from 'esbuild';

const ENTRIES = [
  ['bench/node/bench-node.ts', 'bench/dist/bench-node.mjs'],
  ['scripts/cli/compare-node.ts', 'bench/dist/compare-node.mjs'],
];
for (const [entry, outfile] of ENTRIES)
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['webgpu'],
    // Bundled CommonJS packages may require() Node's own modules.
    banner: { js: "import { createRequire as __mor1eRequire } from 'node:module'; const require = __mor1eRequire(import.meta.url);" },
    logLevel: 'warning',
  });
console.log(`built ${ENTRIES.map((e) => e[1]).join(' and ')}`);
