// Uniform packing: u32 fields, f32 fields, 16-byte rounding, and loud rejection of bad values.
import { describe, expect, it } from 'vitest';
import { kernelOfMessage, params } from '../src/gpu/engine.ts';
import { BufferPool } from '../src/gpu/pool.ts';

describe('params', () => {
  it('packs u32 and f32 fields in declaration order, padded to 16 bytes', () => {
    const buf = params({ M: 3, N: 5, eps: 0.25 }, ['eps']);
    expect(buf.byteLength).toBe(16);
    const u = new Uint32Array(buf);
    expect(u[0]).toBe(3);
    expect(u[1]).toBe(5);
    expect(new Float32Array(buf)[2]).toBe(0.25);
  });
  it('names the field that is not a u32', () => {
    expect(() => params({ M: -1 })).toThrow(/M = -1 is not a u32/);
    expect(() => params({ K: 1.5 })).toThrow(/K = 1.5/);
  });
});

describe('BufferPool.bucket', () => {
  it('rounds sizes up to eight size classes per power of two (at most 12.5% waste), at least 16 bytes', () => {
    expect(BufferPool.bucket(1)).toBe(16);
    expect(BufferPool.bucket(17)).toBe(32);
    expect(BufferPool.bucket(4096)).toBe(4096);
    expect(BufferPool.bucket(4097)).toBe(4096 + 512);
    expect(BufferPool.bucket(311_164_928)).toBe(335_544_320); // 10 · 2^25 (Qwen2.5 logits at 512 tokens): a power of two would take 512 MiB
    for (let s = 1; s < 1e9; s = Math.ceil(s * 1.37) + 3) {
      const b = BufferPool.bucket(s);
      expect(b).toBeGreaterThanOrEqual(s);
      if (s > 128) expect(b / s).toBeLessThanOrEqual(1.125);
    }
  });
});

describe('kernelOfMessage', () => {
  it('names the first labelled object that is not the shared pass or encoder', () => {
    const msg = 'Writable storage buffer binding aliasing found between [BindGroup "matmul_forward{TILE=8}"] set at bind group index 0, binding index 0, and ...\n - While encoding [ComputePassEncoder "engine"].DispatchWorkgroups(4, 1, 1).\n - While finishing [CommandEncoder "engine"].';
    expect(kernelOfMessage(msg)).toBe('matmul_forward{TILE=8}');
    expect(kernelOfMessage(' - While encoding [ComputePassEncoder "engine"].DispatchWorkgroups(1, 1, 1).\n - While validating [BindGroupDescriptor "softmax_forward"]')).toBe('softmax_forward');
    expect(kernelOfMessage('[Buffer "train.lossHistory"] used in submit while destroyed.')).toBe('train.lossHistory');
    expect(kernelOfMessage('While calling [Queue].Submit([CommandBuffer "engine"])')).toBeUndefined();
    expect(kernelOfMessage('Binding size is larger than [Buffer "engine.uniforms[1]"] ... [BindGroupDescriptor "adamw_update"]')).toBe('adamw_update');
  });
});
