// Every WGSL file under shaders/, bundled as text by Vite: { "matmul/matmul_forward": "..." }.
// Node entry points (benchmarks on a GPU machine) use shaders.node.ts instead.
import type { ShaderSources } from './engine.ts';

const files = import.meta.glob('/shaders/**/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

export const SHADERS: ShaderSources = Object.fromEntries(
  Object.entries(files).map(([path, code]) => [path.replace(/^\/shaders\//, '').replace(/\.wgsl$/, ''), code]),
);
