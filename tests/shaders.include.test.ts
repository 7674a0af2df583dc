// `//#include` in WGSL (src/gpu/engine.ts expandIncludes): the skinny matmul kernels share one body;
// missing files and cycles are named with the chain that led to them.
import { describe, expect, test } from 'vitest';
import { expandIncludes } from '../src/gpu/engine.ts';
import { loadShaders } from '../src/gpu/shaders.node.ts';

const SHADERS = loadShaders(new URL('../shaders', import.meta.url).pathname);

describe('expandIncludes', () => {
  test('both skinny kernels get the shared body once, with their own bindings of A and B', () => {
    for (const name of ['matmul/matmul_skinny', 'matmul/matmul_skinny_scalar']) {
      const code = expandIncludes(name, SHADERS);
      expect(code).not.toMatch(/^\/\/#include/m);
      expect(code.split('fn skinny(').length - 1, name).toBe(1);
      expect(code.split('var<workgroup> red').length - 1, name).toBe(1);
      expect(code).toContain(`fn ${name.slice(7)}(`);
      const bindingA = name.endsWith('scalar') ? 'A: array<f32>' : 'A: array<vec4<f32>>';
      expect(code).toContain(bindingA);
    }
  });

  test('a file without includes comes back unchanged', () => {
    expect(expandIncludes('matmul/matmul_forward', SHADERS)).toBe(SHADERS['matmul/matmul_forward']);
  });

  test('a second include of the same file is dropped; a missing file and a cycle are errors that name the chain', () => {
    const src = {
      a: '//#include "b"\n//#include "c"\nfn a() {}',
      b: '//#include "c"\nfn b() {}',
      c: 'fn c() {}',
      bad: '//#include "nope"',
      x: '//#include "y"',
      y: '//#include "x"',
    };
    const a = expandIncludes('a', src);
    expect(a.split('fn c()').length - 1).toBe(1);
    expect(a).toContain('fn b()');
    expect(() => expandIncludes('bad', src)).toThrow('No WGSL shader "nope" (expected shaders/nope.wgsl) (included by shaders/bad.wgsl)');
    expect(() => expandIncludes('x', src)).toThrow('WGSL include cycle: shaders/x.wgsl → shaders/y.wgsl → shaders/x.wgsl');
  });
});
