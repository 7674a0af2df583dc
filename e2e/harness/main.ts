// GPU test harness page: one device for the whole page, real kernels behind window.harness.
import { acquireDevice, adapterName } from '../../src/gpu/device.ts';
import { Engine } from '../../src/gpu/engine.ts';
import { SHADERS } from '../../src/gpu/shaders.ts';
import * as mm from '../../src/ops/matmul.ts';
import type { HarnessApi, MatmulCall } from './api.ts';

const status = document.getElementById('status')!;

async function main(): Promise<void> {
  const ctx = await acquireDevice(navigator.gpu);
  const engine = new Engine(ctx, SHADERS);
  const upload = (name: string, data: number[] | undefined) => {
    if (!data) throw new Error(`harness: missing input "${name}"`);
    return engine.createBuffer(name, Float32Array.from(data));
  };

  async function matmul(call: MatmulCall): Promise<number[]> {
    const out = engine.createBuffer('out', call.outLength * 4);
    if (call.init) engine.write(out, Float32Array.from(call.init));
    else engine.fill(out, NaN);
    const inputs: GPUBuffer[] = [];
    const get = (n: string) => {
      const b = upload(n, call.inputs[n]);
      inputs.push(b);
      return b;
    };
    switch (call.fn) {
      case 'matmulForward':
        mm.matmulForward(engine, out, get('A'), get('B'), call.inputs.bias ? get('bias') : null, call.shape, call.accumulate, call.variant);
        break;
      case 'matmulBackwardInput':
        mm.matmulBackwardInput(engine, out, get('dC'), get('B'), call.shape, call.accumulate);
        break;
      case 'matmulBackwardWeight':
        mm.matmulBackwardWeight(engine, out, get('A'), get('dC'), call.shape, call.accumulate);
        break;
      case 'matmulBackwardBias':
        mm.matmulBackwardBias(engine, out, get('dC'), call.shape);
        break;
    }
    const result = await engine.read(out);
    out.destroy();
    for (const b of inputs) b.destroy();
    return Array.from(result.subarray(0, call.outLength));
  }

  const api: HarnessApi = {
    info: () => ({ adapter: ctx.adapter, adapterName: adapterName(ctx.adapter), features: ctx.features, limits: { ...ctx.limits } }),
    matmul,
    errors: () => engine.errors.map((e) => `${e.kind}${e.kernel ? ` [${e.kernel}]` : ''}: ${e.message}`),
  };
  window.harness = api;
  status.textContent = `ready: ${adapterName(ctx.adapter)}`;
}

main().catch((e: unknown) => {
  window.harnessError = e instanceof Error ? e.message : String(e);
  status.textContent = `error: ${window.harnessError}`;
});
