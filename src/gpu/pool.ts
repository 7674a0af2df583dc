// Buffer pool: reuses GPU buffers by (usage, size bucket) so that readback staging buffers and
// step temporaries are not created and destroyed every step (uniforms live in Engine's arenas).

export class BufferPool {
  private readonly device: GPUDevice;
  private readonly free = new Map<string, GPUBuffer[]>();
  private live = 0;
  private liveBytes = 0;
  /** The most bytes acquired at once since the last resetPeak(). */
  private peak = 0;

  constructor(device: GPUDevice) {
    this.device = device;
  }

  /**
   * Size classes: eight per power of two (a size rounds up to the next multiple of an eighth of
   * the power of two below it, at least 16 bytes), so a buffer wastes at most 12.5% and buckets
   * are still shared between similar sizes.
   */
  static bucket(size: number): number {
    if (size <= 16) return 16;
    const step = Math.max(16, 2 ** Math.floor(Math.log2(size)) / 8);
    return Math.ceil(size / step) * step;
  }

  acquire(size: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const bucket = BufferPool.bucket(size);
    const key = `${usage}:${bucket}`;
    const list = this.free.get(key);
    const buffer = list?.pop() ?? this.device.createBuffer({ label, size: bucket, usage });
    if (!list?.length) this.free.delete(key);
    if (buffer.label !== label) buffer.label = label;
    this.live++;
    this.liveBytes += bucket;
    this.peak = Math.max(this.peak, this.liveBytes);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    const key = `${buffer.usage}:${buffer.size}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buffer);
    this.live--;
    this.liveBytes -= buffer.size;
  }

  stats(): { live: number; liveBytes: number; peakBytes: number; pooled: number; pooledBytes: number } {
    let pooled = 0, pooledBytes = 0;
    for (const l of this.free.values()) {
      pooled += l.length;
      for (const b of l) pooledBytes += b.size;
    }
    return { live: this.live, liveBytes: this.liveBytes, peakBytes: this.peak, pooled, pooledBytes };
  }

  resetPeak(): void {
    this.peak = this.liveBytes;
  }

  destroy(): void {
    for (const l of this.free.values()) for (const b of l) b.destroy();
    this.free.clear();
  }
}
