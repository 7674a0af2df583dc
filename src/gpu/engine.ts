// The GPU engine: pipeline cache (file + override constants), typed dispatch, buffer pool,
// uniform params, readback, and error reporting that names the kernel. Knows no models and no
// DOM: it is handed a GpuContext and the WGSL sources (see shaders.ts / shaders.node.ts).

import type { GpuContext } from './device.ts';
import { BufferPool } from './pool.ts';
import { KernelProfiler, type KernelTime } from './profile.ts';

/** WGSL sources keyed by path under shaders/ without extension: "matmul/matmul_forward". */
export type ShaderSources = Readonly<Record<string, string>>;
export type Overrides = Readonly<Record<string, number | boolean>>;

export interface GpuErrorReport {
  kind: 'validation' | 'out-of-memory' | 'internal' | 'device-lost' | 'compilation';
  /** The kernel (shader file) or GPU object label the error names, when known. */
  kernel?: string;
  message: string;
}

export interface Kernel {
  /** "matmul/matmul_forward" */
  name: string;
  /** Label given to every GPU object of this pipeline: name + overrides. */
  label: string;
  pipeline: GPUComputePipeline;
  /** The pipeline's bind group 0 layout (asked once: each call crosses into the GPU process). */
  layout: GPUBindGroupLayout;
  /** Numbers the kernel in bind group cache keys. */
  id: number;
}

/** One command buffer's uniform params, packed at aligned offsets and written in one call at submit. */
interface UniformArena {
  buffer: GPUBuffer;
  data: Uint8Array<ArrayBuffer>;
}

/** Bytes per uniform arena: 256 dispatches at the usual 256-byte offset alignment. */
const ARENA_BYTES = 65536;
/** Bind groups kept for reuse (a step's dispatches repeat every step); past it the cache starts over. */
const BIND_GROUP_CACHE_MAX = 16384;

export interface DispatchArgs {
  /** Buffers in binding order (outputs, inputs); the params uniform is appended last. */
  bindings: GPUBuffer[];
  /** Packed uniform (see `params`); omitted for kernels without one. */
  params?: ArrayBuffer;
  workgroups: readonly [number, number?, number?];
}

/** Packs a uniform struct of 4-byte fields; `f` marks f32 fields, all others are u32. */
export function params(fields: Record<string, number>, floats: readonly string[] = []): ArrayBuffer {
  const names = Object.keys(fields);
  const size = Math.max(16, Math.ceil((names.length * 4) / 16) * 16);
  const buf = new ArrayBuffer(size);
  const u = new Uint32Array(buf);
  const f = new Float32Array(buf);
  names.forEach((name, i) => {
    const v = fields[name];
    if (floats.includes(name)) f[i] = v;
    else {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`params: ${name} = ${v} is not a u32`);
      u[i] = v;
    }
  });
  return buf;
}

const LABEL_RE = /\[(?:\w+ )?"([^"]+)"\]/g;

/**
 * The kernel an error message names: the first labelled GPU object in it but the engine's own
 * command encoder, compute pass and uniform arenas ("engine", "engine.uniforms[0]": shared by
 * every dispatch; bind groups carry the kernel label).
 */
export function kernelOfMessage(message: string): string | undefined {
  for (const m of message.matchAll(LABEL_RE)) if (!/^engine(\.|$)/.test(m[1])) return m[1];
  return undefined;
}

const INCLUDE_RE = /^\/\/#include "([^"]+)"[ \t]*$/gm;

/**
 * The WGSL text of shaders/<name>.wgsl with every `//#include "other/name"` line (alone on its
 * line) replaced by that file's text, recursively; each file is included at most once (WGSL
 * declarations are order-free, so a second include would only duplicate them). WGSL has no
 * preprocessor: this lets two kernels that differ only in their bindings share one body
 * (matmul_skinny / matmul_skinny_scalar). Compilation messages count lines of the expanded text.
 */
export function expandIncludes(name: string, sources: ShaderSources): string {
  const seen = new Set<string>();
  const expand = (file: string, from: string[]): string => {
    const code = sources[file];
    if (code === undefined) {
      const via = from.length ? ` (included by ${from.map((f) => `shaders/${f}.wgsl`).join(' ← ')})` : '';
      throw new Error(`No WGSL shader "${file}" (expected shaders/${file}.wgsl)${via}`);
    }
    if (from.includes(file)) throw new Error(`WGSL include cycle: ${[...from, file].map((f) => `shaders/${f}.wgsl`).join(' → ')}`);
    seen.add(file);
    return code.replace(INCLUDE_RE, (_line, inc: string) => (seen.has(inc) && !from.includes(inc) ? `// (${inc} already included)` : expand(inc, [...from, file])));
  };
  return expand(name, []);
}

export class Engine {
  readonly ctx: GpuContext;
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  private readonly shaders: ShaderSources;
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly kernels = new Map<string, Kernel>();
  private readonly listeners = new Set<(e: GpuErrorReport) => void>();
  /** Pooled buffers (scratch, readback) that return to the pool once the next submit completes. */
  private pendingRelease: GPUBuffer[] = [];
  /** This submission's scratch buffers still in use, and those recycled for reuse in stream (by bucket size). */
  private readonly scratchLive = new Set<GPUBuffer>();
  private readonly recycled = new Map<number, GPUBuffer[]>();
  private encoder: GPUCommandEncoder | null = null;
  /** Dispatches recorded into the open encoder since it was last submitted or flushed. */
  private recorded = 0;
  /**
   * The most dispatches one command buffer holds: past it `dispatch` flushes (see `flush`), so a
   * long step (a 30-block model's forward and backward is thousands of dispatches) reaches the GPU
   * as several submissions, none long enough to trip an OS GPU watchdog (about 2 s on Windows),
   * and the GPU starts before recording ends. 0: never split.
   */
  maxDispatchesPerSubmit = 256;
  /** Command buffers submitted so far (`submit` and `flush`): tests and benchmarks read it. */
  submissions = 0;
  /** Dispatches recorded so far (empty grids are not dispatched): benchmarks read it. */
  dispatches = 0;
  /** Bind groups created and reused so far (see `dispatch`): tests and benchmarks read them. */
  bindGroupsCreated = 0;
  bindGroupsReused = 0;
  /** The compute pass dispatches go into until a clear, copy or submit ends it. */
  private pass: GPUComputePassEncoder | null = null;
  private passPipeline: GPUComputePipeline | null = null;
  /** Uniform arenas of the open command buffer: `arena` is the one being filled, at `arenaOffset`. */
  private readonly arenas: UniformArena[] = [];
  private arena = 0;
  private arenaOffset = 0;
  private readonly uniformAlign: number;
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private dummyBuffer: GPUBuffer | null = null;
  /** Set between startProfile and stopProfile: every dispatch is timed by timestamp queries. */
  private profiler: KernelProfiler | null = null;
  /** Errors seen so far (bounded), newest last: tests and the UI read them. */
  readonly errors: GpuErrorReport[] = [];
  lost = false;

  constructor(ctx: GpuContext, shaders: ShaderSources) {
    this.ctx = ctx;
    this.device = ctx.device;
    this.shaders = shaders;
    this.pool = new BufferPool(this.device);
    this.uniformAlign = Math.max(16, this.device.limits.minUniformBufferOffsetAlignment);
    this.device.addEventListener('uncapturederror', (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      const kind = err instanceof GPUOutOfMemoryError ? 'out-of-memory' : err instanceof GPUValidationError ? 'validation' : 'internal';
      this.report({ kind, kernel: kernelOfMessage(err.message), message: err.message });
    });
    void this.device.lost.then((info) => {
      this.lost = true;
      if (info.reason !== 'destroyed') this.report({ kind: 'device-lost', message: `GPU device lost: ${info.message || 'no reason given'}` });
    });
  }

  onError(fn: (e: GpuErrorReport) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private report(e: GpuErrorReport): void {
    this.errors.push(e);
    if (this.errors.length > 100) this.errors.shift();
    for (const fn of this.listeners) fn(e);
  }

  private module(name: string): GPUShaderModule {
    let mod = this.modules.get(name);
    if (!mod) {
      const code = expandIncludes(name, this.shaders);
      mod = this.device.createShaderModule({ label: name, code });
      void mod.getCompilationInfo().then((info) => {
        for (const m of info.messages) {
          if (m.type === 'error') this.report({ kind: 'compilation', kernel: name, message: `${name}.wgsl:${m.lineNum}:${m.linePos}: ${m.message}` });
        }
      });
      this.modules.set(name, mod);
    }
    return mod;
  }

  /** The compute pipeline of shaders/<name>.wgsl (entry point = file's base name), cached by overrides. */
  kernel(name: string, overrides: Overrides = {}): Kernel {
    const keys = Object.keys(overrides).sort();
    const key = name + '|' + keys.map((k) => `${k}=${Number(overrides[k])}`).join(',');
    let k = this.kernels.get(key);
    if (!k) {
      const entryPoint = name.slice(name.lastIndexOf('/') + 1);
      const label = keys.length ? `${entryPoint}{${keys.map((x) => `${x}=${Number(overrides[x])}`).join(',')}}` : entryPoint;
      const constants: Record<string, number> = {};
      for (const x of keys) constants[x] = Number(overrides[x]);
      const pipeline = this.device.createComputePipeline({
        label,
        layout: 'auto',
        compute: { module: this.module(name), entryPoint, constants },
      });
      k = { name, label, pipeline, layout: pipeline.getBindGroupLayout(0), id: this.kernels.size + 1 };
      this.kernels.set(key, k);
    }
    return k;
  }

  /** A storage buffer (copy src/dst too), zero-filled or holding `data`. */
  createBuffer(label: string, sizeOrData: number | Float32Array | Uint32Array | Int32Array): GPUBuffer {
    const size = typeof sizeOrData === 'number' ? sizeOrData : sizeOrData.byteLength;
    const buffer = this.device.createBuffer({
      label,
      size: Math.max(4, Math.ceil(size / 4) * 4),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      mappedAtCreation: typeof sizeOrData !== 'number',
    });
    if (typeof sizeOrData !== 'number') {
      new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(sizeOrData.buffer, sizeOrData.byteOffset, sizeOrData.byteLength));
      buffer.unmap();
    }
    return buffer;
  }

  write(buffer: GPUBuffer, data: Float32Array | Uint32Array | Int32Array, byteOffset = 0): void {
    this.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Fills a buffer with one f32 value (tests poison outputs with NaN before a run). */
  fill(buffer: GPUBuffer, value: number): void {
    const data = new Float32Array(buffer.size / 4).fill(value);
    this.write(buffer, data);
  }

  /** A 16-byte storage buffer to bind where a kernel's optional input is absent. */
  get dummy(): GPUBuffer {
    this.dummyBuffer ??= this.createBuffer('dummy', 16);
    return this.dummyBuffer;
  }

  /**
   * Records a dispatch into the open command encoder (see `submit`). Host cost is what bounds a
   * step on a fast GPU (hundreds of small dispatches), so a dispatch does as little as it can:
   * consecutive dispatches share one compute pass (each dispatch is its own usage scope, so each
   * sees the writes of the ones before it); its params go into the command buffer's uniform arena,
   * written with one `queue.writeBuffer` when the command buffer is submitted; and its bind group
   * is reused when the same kernel binds the same buffers and arena slot again, as every training
   * step after the first does.
   */
  dispatch(kernel: Kernel, args: DispatchArgs): void {
    const [x, y = 1, z = 1] = args.workgroups;
    const max = this.ctx.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new RangeError(`${kernel.label}: grid ${x}x${y}x${z} exceeds maxComputeWorkgroupsPerDimension ${max}`);
    if (x === 0 || y === 0 || z === 0) return;
    // Flush before this dispatch takes its uniform slot: past the dispatch limit, or when a
    // profile's query set for this command buffer is full.
    if ((this.maxDispatchesPerSubmit > 0 && this.recorded >= this.maxDispatchesPerSubmit) || this.profiler?.full) this.flush();
    let key = `${kernel.id}`;
    for (const b of args.bindings) key += `,${this.bufferId(b)}`;
    let uniform: GPUBufferBinding | null = null;
    if (args.params) {
      uniform = this.uniformSlot(args.params);
      key += `|${this.arena}@${uniform.offset}+${uniform.size}`;
    }
    let bindGroup = this.bindGroups.get(key);
    if (bindGroup) this.bindGroupsReused++;
    else {
      const entries: GPUBindGroupEntry[] = args.bindings.map((buffer, binding) => ({ binding, resource: { buffer } }));
      if (uniform) entries.push({ binding: entries.length, resource: uniform });
      bindGroup = this.device.createBindGroup({ label: kernel.label, layout: kernel.layout, entries });
      if (this.bindGroups.size >= BIND_GROUP_CACHE_MAX) this.bindGroups.clear();
      this.bindGroups.set(key, bindGroup);
      this.bindGroupsCreated++;
    }
    if (this.profiler) {
      // Profiling: this dispatch is a pass of its own, its beginning and end timestamped.
      this.encoder ??= this.device.createCommandEncoder({ label: 'engine' });
      this.endPass();
      const pass = this.encoder.beginComputePass({ label: 'engine', timestampWrites: this.profiler.timestamps(kernel.label, [x, y, z]) });
      pass.setPipeline(kernel.pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y, z);
      pass.end();
      this.recorded++;
      this.dispatches++;
      return;
    }
    this.encoder ??= this.device.createCommandEncoder({ label: 'engine' });
    if (!this.pass) {
      this.pass = this.encoder.beginComputePass({ label: 'engine' });
      this.passPipeline = null;
    }
    if (this.passPipeline !== kernel.pipeline) {
      this.pass.setPipeline(kernel.pipeline);
      this.passPipeline = kernel.pipeline;
    }
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    this.recorded++;
    this.dispatches++;
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) this.bufferIds.set(b, (id = this.nextBufferId++));
    return id;
  }

  /** Copies `params` into the open command buffer's uniform arena; the binding it gets. */
  private uniformSlot(params: ArrayBuffer): GPUBufferBinding {
    const size = params.byteLength;
    if (size > ARENA_BYTES) throw new RangeError(`uniform params of ${size} bytes exceed the ${ARENA_BYTES}-byte arena`);
    if (this.arenaOffset + size > ARENA_BYTES) {
      this.arena++;
      this.arenaOffset = 0;
    }
    let a = this.arenas[this.arena];
    if (!a) {
      const buffer = this.device.createBuffer({ label: `engine.uniforms[${this.arena}]`, size: ARENA_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      this.arenas.push((a = { buffer, data: new Uint8Array(ARENA_BYTES) }));
    }
    const offset = this.arenaOffset;
    a.data.set(new Uint8Array(params), offset);
    this.arenaOffset = offset + Math.ceil(size / this.uniformAlign) * this.uniformAlign;
    return { buffer: a.buffer, offset, size };
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /**
   * Sends what is recorded so far to the GPU as its own command buffer, without ending the step:
   * scratch buffers stay this step's (alive, recyclable, released by the next `submit`), so
   * buffers saved early in a step (a block's activations) can be read by commands recorded after
   * any number of flushes. Queue order keeps every command after the ones flushed before it.
   * `queue.writeBuffer` (`write`, scratch with data) runs before commands recorded after it is
   * called and after those already flushed. The uniform arenas are written here, just before
   * their command buffer: queue order keeps an earlier command buffer's params intact.
   */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    for (let i = 0; i <= this.arena && i < this.arenas.length; i++) {
      const used = i < this.arena ? ARENA_BYTES : this.arenaOffset;
      if (used > 0) this.device.queue.writeBuffer(this.arenas[i].buffer, 0, this.arenas[i].data, 0, used);
    }
    this.arena = 0;
    this.arenaOffset = 0;
    this.profiler?.resolve(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    this.profiler?.submitted();
    this.encoder = null;
    this.recorded = 0;
    this.submissions++;
  }

  /**
   * Starts timing every dispatch on the GPU (timestamp queries; the device needs the
   * "timestamp-query" feature, which acquireDevice requests where the adapter has it). Until
   * stopProfile, each dispatch is a compute pass of its own (see profile.ts). `byGrid`: time each
   * (kernel, workgroup grid) apart, e.g. "matmul_forward{…} [9x8x1]", to tell a kernel's shapes apart.
   */
  startProfile(opts: { byGrid?: boolean } = {}): void {
    if (this.profiler) throw new Error('engine: a profile is already running');
    this.flush();
    this.profiler = new KernelProfiler(this.device, opts);
  }

  /** Ends the profile: submits what is recorded and returns each kernel's GPU time, slowest first. */
  async stopProfile(): Promise<KernelTime[]> {
    const prof = this.profiler;
    if (!prof) throw new Error('engine: no profile is running (startProfile first)');
    this.flush();
    this.profiler = null;
    try {
      return await prof.report();
    } finally {
      prof.destroy();
    }
  }

  /** Zeroes a buffer in stream order with the dispatches (unlike `write`, which runs before them). */
  clear(buffer: GPUBuffer): void {
    this.encoder ??= this.device.createCommandEncoder({ label: 'engine' });
    this.endPass();
    this.encoder.clearBuffer(buffer);
  }

  /** Copies between buffers in stream order with the dispatches. */
  copy(src: GPUBuffer, dst: GPUBuffer, size = src.size, srcOffset = 0, dstOffset = 0): void {
    this.encoder ??= this.device.createCommandEncoder({ label: 'engine' });
    this.endPass();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
  }

  /**
   * A pooled storage buffer for one step's temporaries (`size` bytes, or holding `data`). It
   * returns to the pool when the next submit completes: do not keep it past that.
   */
  scratch(label: string, sizeOrData: number | Float32Array | Uint32Array | Int32Array): GPUBuffer {
    const size = typeof sizeOrData === 'number' ? sizeOrData : sizeOrData.byteLength;
    if (typeof sizeOrData === 'number') {
      // A buffer whose last use is already recorded can take new work later in the same stream.
      const again = this.recycled.get(BufferPool.bucket(size))?.pop();
      if (again) {
        if (again.label !== label) again.label = label;
        return again;
      }
    }
    const b = this.pool.acquire(size, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label);
    if (typeof sizeOrData !== 'number') this.write(b, sizeOrData);
    this.pendingRelease.push(b);
    this.scratchLive.add(b);
    return b;
  }

  /**
   * Declares that every use of a scratch buffer is recorded: later commands of the same
   * submission may reuse it (commands run in stream order). It is never handed to a scratch
   * with initial data, which queue.writeBuffer would fill before the earlier commands ran.
   * Buffers that are not this submission's scratch are ignored.
   */
  recycle(...buffers: Array<GPUBuffer | null | undefined>): void {
    for (const b of buffers) {
      if (!b || !this.scratchLive.delete(b)) continue;
      let list = this.recycled.get(b.size);
      if (!list) this.recycled.set(b.size, (list = []));
      list.push(b);
    }
  }

  /**
   * Submits what was recorded; scratch buffers return to the pool once the GPU is done, in reverse
   * order, so that the pool (last in, first out) hands them out in the same order next step and
   * the step's bind groups are found again.
   */
  submit(): Promise<void> {
    const uniforms = this.pendingRelease.reverse();
    this.pendingRelease = [];
    this.recycled.clear();
    this.scratchLive.clear();
    this.flush();
    return this.device.queue.onSubmittedWorkDone().then(() => {
      for (const u of uniforms) this.pool.release(u);
    });
  }

  /** Reads a buffer back as f32 (submits pending work first). */
  async read(buffer: GPUBuffer, byteLength = buffer.size, byteOffset = 0): Promise<Float32Array> {
    return (await this.readMany([{ buffer, byteLength, byteOffset }]))[0];
  }

  /**
   * Reads several buffers back as f32 in one submission: every copy is recorded before the first
   * await, so the values are one moment's, and a buffer destroyed by other code while the reads
   * are in flight (a run replacing its adapter) was already copied.
   */
  async readMany(reads: Array<{ buffer: GPUBuffer; byteLength?: number; byteOffset?: number }>): Promise<Float32Array[]> {
    const staged = reads.map(({ buffer, byteLength = buffer.size, byteOffset = 0 }) => {
      const size = Math.ceil(byteLength / 4) * 4;
      const staging = this.pool.acquire(size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, `readback(${buffer.label})`);
      this.copy(buffer, staging, size, byteOffset, 0);
      return { staging, size, floats: byteLength / 4 };
    });
    void this.submit();
    return Promise.all(
      staged.map(async ({ staging, size, floats }) => {
        await staging.mapAsync(GPUMapMode.READ, 0, size);
        const out = new Float32Array(staging.getMappedRange(0, size).slice(0));
        staging.unmap();
        this.pool.release(staging);
        return out.subarray(0, floats);
      }),
    );
  }

  destroy(): void {
    this.pool.destroy();
    for (const a of this.arenas) a.buffer.destroy();
    this.bindGroups.clear();
    this.dummyBuffer?.destroy();
    this.device.destroy();
  }
}

/** Grid for `count` workgroups laid out as x (≤ 65535) by y: kernels index w = x + y·gridX. */
export function gridFor(count: number): [number, number] {
  if (count <= 65535) return [Math.max(count, 1), 1];
  return [65535, Math.ceil(count / 65535)];
}

/** Grid for one thread per element in workgroups of `size`: kernels index i = gid.x + gid.y·gridX·size. */
export function gridElements(n: number, size = 64): [number, number] {
  const groups = Math.ceil(n / size);
  if (groups <= 65535) return [Math.max(groups, 1), 1];
  const x = 65535;
  return [x, Math.ceil(groups / x)];
}
