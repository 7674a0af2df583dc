// The loaded model's card: architecture, parameters, dtype on disk, weights on the GPU, context,
// and whether a training step with the Method step's settings fits this device (the same memory
// estimate the worker checks before a run).
import { useStore } from './store/index.ts';
import { checkMethod } from './method.ts';
import type { ModelInfo } from '../worker/api.ts';

const MiB = 2 ** 20;
const mib = (b: number) => `${(b / MiB).toFixed(b < 10 * MiB ? 1 : 0)} MiB`;

function FitLine() {
  const form = useStore((s) => s.method);
  const info = useStore((s) => s.model.info);
  const data = useStore((s) => s.data.result);
  const gpu = useStore((s) => s.gpu);
  if (gpu.status !== 'ready' || !info) return null;
  const c = checkMethod(form, { info, data, limits: gpu.limits });
  const cap = Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
  if (c.errors.memory) return <dd className="bad" data-testid="model-fits" data-fits="no">No: {c.errors.memory}</dd>;
  if (!c.memory) return <dd data-testid="model-fits">the weights fit; choose valid method settings for a training estimate</dd>;
  return (
    <dd data-testid="model-fits" data-fits="yes">
      Yes: a training step (batch {form.batchSize}) needs about {mib(c.memory.totalBytes)} (weights {mib(c.memory.weightBytes)}, activations {mib(c.memory.activationBytes)}, adapters
      with AdamW {mib(c.memory.adapterBytes)}); its largest buffer is {mib(c.memory.largest.bytes)} of the {mib(cap)} this GPU binds
    </dd>
  );
}

export function ModelCard({ info }: { info: ModelInfo }) {
  return (
    <dl className="info card" data-testid="model-info" data-model-type={info.modelType}>
      <dt>Loaded</dt>
      <dd data-testid="model-source">{info.source}</dd>
      <dt>Architecture</dt>
      <dd>
        {info.modelType}: {info.layers} layers, width {info.hidden}, {info.heads} heads
        {info.kvHeads !== info.heads ? ` (${info.kvHeads} key/value)` : ''}, MLP {info.spec.intermediate}, vocabulary {info.vocabSize.toLocaleString('en-US')}
        {info.spec.tiedEmbeddings ? ', tied embeddings' : ''}
      </dd>
      <dt>Parameters</dt>
      <dd data-testid="model-parameters">{info.parameters.toLocaleString('en-US')}</dd>
      <dt>Weights</dt>
      <dd>
        {info.dtypes.join(', ')} on disk; {info.weightMiB.toFixed(1)} MiB f32 on the GPU
      </dd>
      <dt>Context</dt>
      <dd>
        {info.maxPositions} positions; up to {info.maxTokens.toLocaleString('en-US')} tokens per pass on this GPU; {info.hasChatTemplate ? 'chat template' : 'plain instruction template'}
      </dd>
      <dt>Fits for training</dt>
      <FitLine />
      {info.unused.length > 0 && (
        <>
          <dt>Unused tensors</dt>
          <dd>{info.unused.length} in the files are not used by this architecture</dd>
        </>
      )}
    </dl>
  );
}
