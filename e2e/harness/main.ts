// GPU test harness page: one device for the whole page, real kernels behind window.harness.
import { acquireDevice, adapterName } from '../../src/gpu/device.ts';
import { Engine } from '../../src/gpu/engine.ts';
import { SHADERS } from '../../src/gpu/shaders.ts';
import type { HarnessApi, KernelCall, KernelInput } from './api.ts';
import { OPS, type Buffers } from './ops.ts';

const status = document.getElementById('status')!;

function typed(input: KernelInput): Float32Array | Uint32Array | Int32Array {
  if (input.type === 'u32') return Uint32Array.from(input.data);
  if (input.type === 'i32') return Int32Array.from(input.data);
  return Float32Array.from(input.data);
}

async function main(): Promise<void> {
  const ctx = await acquireDevice(navigator.gpu);
  const engine = new Engine(ctx, SHADERS);

  async function run(call: KernelCall): Promise<Record<string, number[]>> {
    const op = OPS[call.op];
    if (!op) throw new Error(`harness: no launcher "${call.op}" (see e2e/harness/ops.ts)`);
    const buffers: Buffers = {};
    for (const [name, input] of Object.entries(call.inputs)) buffers[name] = engine.createBuffer(name, typed(input));
    for (const [name, o] of Object.entries(call.outputs)) {
      if (buffers[name]) throw new Error(`harness: "${name}" is both an input and an output`);
      buffers[name] = engine.createBuffer(name, o.length * 4);
      if (o.init) engine.write(buffers[name], Float32Array.from(o.init));
      else engine.fill(buffers[name], NaN);
    }
    try {
      op(engine, buffers, call.args ?? {});
      const result: Record<string, number[]> = {};
      for (const [name, o] of Object.entries(call.outputs)) result[name] = Array.from((await engine.read(buffers[name])).subarray(0, o.length));
      return result;
    } finally {
      await engine.submit();
      for (const b of Object.values(buffers)) b.destroy();
    }
  }

  const api: HarnessApi = {
    info: () => ({ adapter: ctx.adapter, adapterName: adapterName(ctx.adapter), features: ctx.features, limits: { ...ctx.limits } }),
    run,
    profile: async (call) => {
      engine.startProfile();
      const outputs = await run(call).catch(async (e: unknown) => {
        await engine.stopProfile();
        throw e;
      });
      return { outputs, kernels: await engine.stopProfile() };
    },
    errors: () => engine.errors.map((e) => `${e.kind}${e.kernel ? ` [${e.kernel}]` : ''}: ${e.message}`),
  };
  window.harness = api;
  status.textContent = `ready: ${adapterName(ctx.adapter)}`;
}

main().catch((e: unknown) => {
  window.harnessError = e instanceof Error ? e.message : String(e);
  status.textContent = `error: ${window.harnessError}`;
});
