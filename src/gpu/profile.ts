// Per-kernel GPU time from timestamp queries: while the engine profiles, every dispatch gets its
// own compute pass whose beginning and end write a timestamp; each command buffer resolves its
// queries before it is submitted and reads them back once the GPU is done. Dispatches are then
// one pass each instead of sharing one, which costs some host time and a little GPU time (pass
// boundaries and the timestamp writes; each dispatch is its own usage scope either way, so results
// do not change). Clears and copies are not passes and are not timed: compare the kernels' sum
// with the wall time to see what they and the host take. Browsers may round timestamps (Chrome to
// 100 µs unless its WebGPU developer features are on); Dawn in Node does not.

/** GPU time of one kernel (pipeline label, overrides included) over the profiled work. */
export interface KernelTime {
  kernel: string;
  calls: number;
  ms: number;
}

/** Query pairs per command buffer: a dispatch past it makes the engine flush first. */
const PAIRS = 1024;

interface Slot {
  querySet: GPUQuerySet;
  resolve: GPUBuffer;
  read: GPUBuffer;
}

export class KernelProfiler {
  private readonly device: GPUDevice;
  private readonly free: Slot[] = [];
  private slot: Slot | null = null;
  /** The open command buffer's dispatches, by kernel label, in query-pair order. */
  private labels: string[] = [];
  private readonly reads: Promise<void>[] = [];
  private readonly totals = new Map<string, { calls: number; ns: number }>();
  private destroyed = false;
  /** Time each (kernel, workgroup grid) apart instead of each kernel. */
  private readonly byGrid: boolean;

  constructor(device: GPUDevice, opts: { byGrid?: boolean } = {}) {
    if (!device.features.has('timestamp-query')) throw new Error('kernel profiling needs the WebGPU feature "timestamp-query", which this GPU adapter does not offer');
    this.device = device;
    this.byGrid = opts.byGrid ?? false;
  }

  /** Whether the open command buffer has used every query pair (the engine flushes first). */
  get full(): boolean {
    return this.labels.length >= PAIRS;
  }

  /** The timestamp writes for the next dispatch, a pass of its own, of kernel `label` over `grid`. */
  timestamps(label: string, grid: readonly [number, number, number]): GPUComputePassTimestampWrites {
    if (this.destroyed) throw new Error('kernel profiler: already stopped');
    if (this.full) throw new Error('kernel profiler: the command buffer has no query pair left (flush first)');
    this.slot ??= this.free.pop() ?? this.newSlot();
    const i = this.labels.length;
    this.labels.push(this.byGrid ? `${label} [${grid.join('x')}]` : label);
    return { querySet: this.slot.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  private newSlot(): Slot {
    return {
      querySet: this.device.createQuerySet({ label: 'engine.profile', type: 'timestamp', count: 2 * PAIRS }),
      resolve: this.device.createBuffer({ label: 'engine.profile.resolve', size: 16 * PAIRS, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
      read: this.device.createBuffer({ label: 'engine.profile.read', size: 16 * PAIRS, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
    };
  }

  /** Records the resolve of this command buffer's queries (call before `encoder.finish()`). */
  resolve(encoder: GPUCommandEncoder): void {
    if (!this.slot || !this.labels.length) return;
    const n = 2 * this.labels.length;
    encoder.resolveQuerySet(this.slot.querySet, 0, n, this.slot.resolve, 0);
    encoder.copyBufferToBuffer(this.slot.resolve, 0, this.slot.read, 0, n * 8);
  }

  /** After the command buffer is submitted: reads its timestamps back when the GPU is done. */
  submitted(): void {
    const slot = this.slot, labels = this.labels;
    this.slot = null;
    this.labels = [];
    if (!slot || !labels.length) {
      if (slot) this.free.push(slot);
      return;
    }
    this.reads.push(
      slot.read.mapAsync(GPUMapMode.READ, 0, labels.length * 16).then(() => {
        const t = new BigInt64Array(slot.read.getMappedRange(0, labels.length * 16));
        labels.forEach((label, i) => {
          // A pass's end before its beginning (timestamps may be reset between passes on some
          // drivers) counts as nothing rather than as a negative time.
          const ns = Math.max(0, Number(t[2 * i + 1] - t[2 * i]));
          const tot = this.totals.get(label);
          if (tot) {
            tot.calls++;
            tot.ns += ns;
          } else this.totals.set(label, { calls: 1, ns });
        });
        slot.read.unmap();
        if (this.destroyed) this.destroySlot(slot);
        else this.free.push(slot);
      }),
    );
  }

  /** Every kernel's total GPU time so far (slowest first), once every submitted read is back. */
  async report(): Promise<KernelTime[]> {
    await Promise.all(this.reads.splice(0));
    return [...this.totals].map(([kernel, t]) => ({ kernel, calls: t.calls, ms: t.ns / 1e6 })).sort((a, b) => b.ms - a.ms);
  }

  private destroySlot(s: Slot): void {
    s.querySet.destroy();
    s.resolve.destroy();
    s.read.destroy();
  }

  destroy(): void {
    this.destroyed = true;
    for (const s of this.free.splice(0)) this.destroySlot(s);
    if (this.slot) this.destroySlot(this.slot);
    this.slot = null;
  }
}
