// The Method step: a preset per method (T-REX by default), the adapter's sizes, routing, intuition,
// regularisers and target modules, and the training settings; the trainable parameter count and
// memory estimate follow every change, and an invalid combination is explained beside its field.
import { useStore } from './store/index.ts';
import { checkMethod, expertsOf, FIELD_LABELS, isGated, isRouted, METHODS, moduleKindsOf, type MethodForm } from './method.ts';
import { Field, NumberInput, Select } from './fields.tsx';
import { Note } from './Note.tsx';
import { isSoftwareAdapter } from './GpuPanel.tsx';
import type { ModuleKind } from '../train/config.ts';

const MiB = 2 ** 20;

export function MethodPanel() {
  const f = useStore((s) => s.method);
  const patch = useStore((s) => s.patchMethod);
  const applyPreset = useStore((s) => s.applyPreset);
  const info = useStore((s) => s.model.info);
  const data = useStore((s) => s.data.result);
  const gpu = useStore((s) => s.gpu);
  const running = useStore((s) => s.run.state?.status === 'running' || s.run.state?.status === 'paused' || s.run.starting);
  const c = checkMethod(f, { info, data, limits: gpu.status === 'ready' ? gpu.limits : null });
  const gated = isGated(f.method);
  const E = expertsOf(f);
  const num = (name: keyof MethodForm, hint?: string, disabled?: boolean) => (
    <Field label={FIELD_LABELS[name]} name={name} error={c.errors[name]} warning={c.warnings[name]} hint={hint}>
      <NumberInput name={name} value={f[name] as number} invalid={!!c.errors[name]} disabled={disabled} onChange={(v) => patch({ [name]: v } as Partial<MethodForm>)} />
    </Field>
  );
  const kinds = info ? moduleKindsOf(info) : [];
  const toggleTarget = (k: ModuleKind, on: boolean) => {
    const cur = f.targets ?? kinds;
    const next = on ? [...cur, k] : cur.filter((x) => x !== k);
    patch({ targets: kinds.every((x) => next.includes(x)) && next.length === kinds.length ? null : kinds.filter((x) => next.includes(x)) });
  };

  return (
    <section className="panel" data-testid="method-panel">
      <h2>Method</h2>
      <Note>
        How the model is finetuned. T-REX (the default) mixes many rank-1 experts per token; a router and the intuition (clusters of the training prompts)
        choose them. LoRA, MoLoRA and SiRA are the baselines. Each setting explains a problem beside it; the numbers on the right follow every change.
      </Note>
      {running && <p className="warn">A run is in progress: these settings apply to the next run.</p>}
      <div className="presets" role="radiogroup" aria-label="Method">
        {METHODS.map((m) => (
          <button key={m.id} type="button" role="radio" aria-checked={f.method === m.id} data-testid={`preset-${m.id}`} className={`preset${f.method === m.id ? ' on' : ''}`} onClick={() => applyPreset(m.id)}>
            <strong>{m.label}</strong>
            <span>{m.blurb}</span>
          </button>
        ))}
      </div>
      <div className="method-summary" data-testid="method-summary" aria-live="polite">
        <span>Trainable: <strong data-testid="method-trainable">{c.trainable !== null ? `${c.trainable.toLocaleString('en-US')} parameters` : '—'}</strong>
          {c.trainable !== null && info ? ` (${((100 * c.trainable) / info.parameters).toFixed(2)}% of the model, ${c.adaptedLayers} layers)` : ''}</span>
        <span>Steps: <strong data-testid="method-total-steps">{c.totalSteps ?? '—'}</strong></span>
        <span>GPU memory: <strong data-testid="method-memory">{c.memory ? `about ${(c.memory.totalBytes / MiB).toFixed(1)} MiB` : '—'}</strong></span>
        {c.errors.memory && <span className="field-msg bad" role="alert" data-testid="method-error-memory">{c.errors.memory}</span>}
      </div>
      {c.errors.method && <p className="error-box" role="alert" data-testid="method-error-method">{c.errors.method}</p>}

      <div className="method-grid">
        <fieldset>
          <legend>Adapter</legend>
          {f.method === 'trex' && (
            <>
              {num('r1')}
              {num('r2', `${Number.isFinite(E) ? E : '?'} experts (r1 x r2)`)}
            </>
          )}
          {f.method === 'mor1e' && num('E')}
          {(f.method === 'lora' || f.method === 'molora' || f.method === 'sira') && num('r')}
          {f.method === 'lora' && num('alpha', 'the update is scaled by alpha / r')}
          {gated && (
            <>
              <Field label={FIELD_LABELS.routing} name="routing" hint={f.routing === 'dense' ? 'every expert, weighted' : undefined}>
                <Select name="routing" value={f.routing} options={[['dense', 'dense'], ['topk', 'top-k']]} onChange={(v) => patch({ routing: v })} />
              </Field>
              {f.routing === 'topk' && num('topk')}
            </>
          )}
          {isRouted(f.method) && (
            <>
              {num('lambdaH', 'positive sharpens routing, negative spreads it')}
              {num('lambdaLB', 'evens out the experts’ shares')}
            </>
          )}
          <Field label={FIELD_LABELS.targets} name="targets" error={c.errors.targets}>
            <span className="checks" id="method-targets" data-testid="method-targets">
              {info ? (
                kinds.map((k) => (
                  <label key={k}>
                    <input type="checkbox" checked={f.targets ? f.targets.includes(k) : true} onChange={(e) => toggleTarget(k, e.target.checked)} /> {k}
                  </label>
                ))
              ) : (
                <span className="muted">load a model to choose</span>
              )}
            </span>
          </Field>
        </fieldset>

        <fieldset disabled={!gated}>
          <legend>Intuition</legend>
          {!gated && <p className="muted">{f.method === 'lora' ? 'LoRA' : f.method === 'sira' ? 'SiRA' : 'MoLoRA'} has no intuition gate.</p>}
          <Field
            label={FIELD_LABELS.intuition}
            name="intuition"
            error={c.errors.intuition}
            warning={c.warnings.intuition ?? (gated && f.intuition === 'model' && isSoftwareAdapter(gpu) ? 'a software adapter embeds every prompt one at a time: expect many minutes' : undefined)}
          >
            <Select
              name="intuition"
              value={f.intuition}
              options={[['model', 'the base model'], ['encoder', 'a sentence encoder'], ['supplied', 'supplied (emb)'], ['none', 'none']]}
              onChange={(v) => patch({ intuition: v })}
            />
          </Field>
          {f.intuition === 'encoder' && (
            <Field label={FIELD_LABELS.encoder} name="encoder" error={c.errors.encoder} hint="a BERT folder URL or hub id">
              <input id="method-encoder" data-testid="method-encoder" value={f.encoder} size={28} placeholder="sentence-transformers/all-MiniLM-L6-v2" onChange={(e) => patch({ encoder: e.target.value })} />
            </Field>
          )}
          {f.intuition !== 'none' && num('k', `0 = one per expert (${Number.isFinite(E) ? E : '?'})`)}
        </fieldset>

        <fieldset>
          <legend>Training</legend>
          {num('lr')}
          <Field label={FIELD_LABELS.schedule} name="schedule">
            <Select name="schedule" value={f.schedule} options={[['cosine', 'cosine'], ['linear', 'linear'], ['constant', 'constant']]} onChange={(v) => patch({ schedule: v })} />
          </Field>
          {num('warmupSteps')}
          <Field label={FIELD_LABELS.length} name="length">
            <Select name="length" value={f.length} options={[['steps', 'steps'], ['epochs', 'epochs']]} onChange={(v) => patch({ length: v })} />
          </Field>
          {f.length === 'steps' ? num('steps') : num('epochs')}
          {num('batchSize')}
          {num('accumulate', f.accumulate > 1 && Number.isFinite(f.batchSize * f.accumulate) ? `effective batch ${f.batchSize * f.accumulate}` : 'micro-batches per step')}
          {num('maxLength', 'tokens per row; longer prompts are cut at the start')}
          {num('seed')}
          {num('evalEvery', 'steps (0: at the end)')}
          {num('checkpointEvery', 'steps (0: on pause and at the end)')}
        </fieldset>

      </div>
    </section>
  );
}
