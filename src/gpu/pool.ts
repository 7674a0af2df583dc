// Buffer pool: reuses GPU buffers by (usage, size bucket) so that per-dispatch uniforms,
// readback staging buffers and step temporaries are not created and destroyed every step.

export class BufferPool {
  private readonly device: GPUDevice;
  private readonly free = new Map<string, GPUBuffer[]>();
  private live = 0;
  private liveBytes = 0;

  constructor(device: GPUDevice) {
    this.device = device;
  }

  /** Sizes are rounded up to a power of two (at least 16 bytes) so that buckets are reused. */
  static bucket(size: number): number {
    return Math.max(16, 2 ** Math.ceil(Math.log2(Math.max(1, size))));
  }

  acquire(size: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const bucket = BufferPool.bucket(size);
    const key = `${usage}:${bucket}`;
    const list = this.free.get(key);
    const buffer = list?.pop() ?? this.device.createBuffer({ label, size: bucket, usage });
    if (!list?.length) this.free.delete(key);
    buffer.label = label;
    this.live++;
    this.liveBytes += bucket;
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

  stats(): { live: number; liveBytes: number; pooled: number } {
    let pooled = 0;
    for (const l of this.free.values()) pooled += l.length;
    return { live: this.live, liveBytes: this.liveBytes, pooled };
  }

  destroy(): void {
    for (const l of this.free.values()) for (const b of l) b.destroy();
    this.free.clear();
  }
}
