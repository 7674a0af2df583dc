// The GPU the engine runs on, in the header: the adapter's name, a warning badge for a software
// (CPU) adapter such as SwiftShader, GPU errors, and features and limits behind "details". Without
// WebGPU the main area says plainly why and what to enable.
import { useState } from 'react';
import { useStore } from './store/index.ts';
import type { GpuState } from './store/gpuSlice.ts';

const MiB = 1024 * 1024;

function formatLimit(name: string, v: number): string {
  return /Size$/.test(name) && v >= MiB ? `${(v / MiB).toFixed(0)} MiB` : v.toLocaleString('en-US');
}

/** A software adapter: flagged as the fallback adapter, or SwiftShader / llvmpipe / WARP by name. */
export function isSoftwareAdapter(gpu: GpuState): boolean {
  if (gpu.status !== 'ready') return false;
  return gpu.adapter.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe|warp|software|cpu/i.test(gpu.adapterName);
}

export function GpuStatus() {
  const gpu = useStore((s) => s.gpu);
  const errors = useStore((s) => s.gpuErrors);
  const [open, setOpen] = useState(false);
  if (gpu.status === 'idle' || gpu.status === 'starting') {
    return <div className="gpu-status" data-testid="gpu-status" data-status={gpu.status}>Starting the GPU engine…</div>;
  }
  if (gpu.status === 'unavailable') {
    return <div className="gpu-status" data-testid="gpu-status" data-status="unavailable"><span className="badge bad">No WebGPU</span></div>;
  }
  return (
    <div className="gpu-status" data-testid="gpu-status" data-status="ready">
      <span className="gpu-name" data-testid="gpu-adapter" title="The GPU adapter the engine worker runs on">{gpu.adapterName}</span>
      {isSoftwareAdapter(gpu) && (
        <span className="badge warn" data-testid="gpu-software" title="A software (CPU) implementation of WebGPU: correct, but about 1000x slower than a GPU">
          software adapter: slow
        </span>
      )}
      {errors.length > 0 && <span className="badge bad" data-testid="gpu-error-count">{errors.length} GPU error{errors.length > 1 ? 's' : ''}</span>}
      <button type="button" className="link" aria-expanded={open} aria-controls="gpu-details" data-testid="gpu-details-toggle" onClick={() => setOpen(!open)}>
        {open ? 'hide details' : 'details'}
      </button>
      {open && (
        <div className="gpu-details" id="gpu-details" data-testid="gpu-details">
          <p data-testid="gpu-features">Features: {gpu.features.length ? gpu.features.join(', ') : 'none of shader-f16, timestamp-query, subgroups'}</p>
          <table className="limits">
            <tbody>
              {Object.entries(gpu.limits).map(([k, v]) => (
                <tr key={k}>
                  <td>{k}</td>
                  <td>{formatLimit(k, v)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {errors.length > 0 && (
            <ul className="gpu-errors" data-testid="gpu-errors">
              {errors.map((e, i) => (
                <li key={i}>
                  {e.kind}
                  {e.kernel ? ` in ${e.kernel}` : ''}: {e.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}

export function GpuUnavailable() {
  const gpu = useStore((s) => s.gpu);
  if (gpu.status !== 'unavailable') return null;
  return (
    <section className="panel error unavailable" role="alert">
      <h2>WebGPU is not available</h2>
      <p data-testid="gpu-error">{gpu.message}</p>
    </section>
  );
}
