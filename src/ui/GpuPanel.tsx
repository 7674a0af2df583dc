// Shows the GPU the engine runs on (adapter, features, limits) or, plainly, why there is none.
import { useStore } from './store/index.ts';

const MiB = 1024 * 1024;

function formatLimit(name: string, v: number): string {
  return /Size$/.test(name) && v >= MiB ? `${(v / MiB).toFixed(0)} MiB` : v.toLocaleString('en-US');
}

export function GpuPanel() {
  const gpu = useStore((s) => s.gpu);
  const errors = useStore((s) => s.gpuErrors);
  if (gpu.status === 'idle' || gpu.status === 'starting') {
    return <section className="panel" data-testid="gpu-status" data-status={gpu.status}>Starting the GPU engine…</section>;
  }
  if (gpu.status === 'unavailable') {
    return (
      <section className="panel error" data-testid="gpu-status" data-status="unavailable" role="alert">
        <h2>WebGPU is not available</h2>
        <p data-testid="gpu-error">{gpu.message}</p>
      </section>
    );
  }
  return (
    <section className="panel" data-testid="gpu-status" data-status="ready">
      <h2>GPU</h2>
      <p data-testid="gpu-adapter">
        <strong>{gpu.adapterName}</strong>
        {gpu.adapter.isFallbackAdapter && <span className="warn"> — a software (CPU) adapter: correct, but far too slow for real models</span>}
      </p>
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
    </section>
  );
}
