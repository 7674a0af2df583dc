// Vite: the app (index.html), the GPU test harness (e2e/harness.html), the benchmark page
// (bench/index.html), and Vitest's Node unit tests.
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import { resolve } from 'node:path';

export default defineConfig({
  plugins: [react()],
  appType: 'mpa', // several pages (app, GPU test harness, benchmarks); unknown paths are 404s, not index.html
  worker: { format: 'es' },
  // Found by the dependency scan up front, so a worker's first import does not reload the page.
  optimizeDeps: { include: ['papaparse', 'umap-js', '@huggingface/tokenizers', '@huggingface/jinja', 'comlink', 'uplot'] },
  server: { port: 5173, fs: { strict: true } },
  build: {
    target: 'es2022',
    rollupOptions: {
      input: {
        app: resolve(import.meta.dirname, 'index.html'),
      },
    },
  },
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
  },
});
