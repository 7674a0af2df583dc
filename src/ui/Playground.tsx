// The playground: generate from the loaded model (greedy or sampled), streaming tokens, through the
// active adapter (trained or loaded) or the base model, or both side by side; beside the prompt, its intuition scores
// over the clusters when the adapter has an intuition.
import { generateText, hasAdapter as adapterOf, useStore } from './store/index.ts';
import { useFirstPrompt } from './useFirstPrompt.ts';
import { PLAYGROUND_PROMPT } from './store/playgroundSlice.ts';
import { Note } from './Note.tsx';
import { PromptScores } from './PromptScores.tsx';

export function Playground() {
  const info = useStore((s) => s.model.info);
  const p = useStore((s) => s.playground);
  const patch = useStore((s) => s.patchPlayground);
  const hasAdapter = useStore((s) => adapterOf(s.run));
  const training = useStore((s) => s.run.state?.status === 'running');
  // An untouched prompt becomes the dataset's first validation row, templated as the rows were trained.
  useFirstPrompt(p.prompt === PLAYGROUND_PROMPT, (prompt) => {
    if (useStore.getState().playground.prompt === PLAYGROUND_PROMPT) patch({ prompt });
  });
  if (!info) {
    return (
      <section className="panel" data-testid="playground">
        <h2>Playground</h2>
        <p className="muted">Load a model first (Model step).</p>
      </section>
    );
  }
  const both = p.sideBySide && hasAdapter;
  return (
    <section className="panel" data-testid="playground">
      <h2>Playground</h2>
      <Note>
        Type a prompt and generate. With an adapter (trained here or loaded in the Export step), compare the base model with the finetuned one; the prompt goes through the instruction (or chat)
        template as training rows do; untick it to continue raw text.
      </Note>
      <div className="prompt-row">
        <textarea data-testid="playground-prompt" aria-label="Prompt" rows={3} value={p.prompt} onChange={(e) => patch({ prompt: e.target.value })} />
        <PromptScores prompt={p.prompt} />
      </div>
      <div className="row">
        <label>
          <input type="checkbox" data-testid="playground-template" checked={p.useChat} onChange={(e) => patch({ useChat: e.target.checked })} /> {info.hasChatTemplate ? 'chat template' : 'instruction template'} (as the rows were trained)
        </label>
        <label title={hasAdapter ? undefined : 'Train an adapter or load one (Export step) first'}>
          <input type="checkbox" data-testid="playground-adapter" disabled={!hasAdapter || p.sideBySide} checked={hasAdapter && p.adapter} onChange={(e) => patch({ adapter: e.target.checked })} /> through the adapter
        </label>
        <label title={hasAdapter ? undefined : 'Train an adapter or load one (Export step) first'}>
          <input type="checkbox" data-testid="playground-side-by-side" disabled={!hasAdapter} checked={both} onChange={(e) => patch({ sideBySide: e.target.checked })} /> base and adapter side by side
        </label>
        <label>Max tokens <input type="number" min={1} max={512} value={p.maxNewTokens} onChange={(e) => patch({ maxNewTokens: Math.max(1, Number(e.target.value) || 1) })} /></label>
        <label>Temperature <input type="number" min={0} max={2} step={0.1} value={p.temperature} onChange={(e) => patch({ temperature: Math.max(0, Number(e.target.value) || 0) })} /></label>
        <label>Top-p <input type="number" min={0.05} max={1} step={0.05} value={p.topP} onChange={(e) => patch({ topP: Math.min(1, Math.max(0.05, Number(e.target.value) || 1)) })} /></label>
        <button data-testid="playground-generate" disabled={p.generating || !p.prompt || training} onClick={() => void generateText()}>
          {p.generating ? 'Generating…' : 'Generate'}
        </button>
      </div>
      {training && <p className="muted">Generation waits while the run trains: pause it or let it finish.</p>}
      <div className={both ? 'side-by-side' : undefined}>
        <div>
          {both && <h3>Base model</h3>}
          <pre className="output" data-testid="playground-output">{p.output}</pre>
        </div>
        {both && (
          <div>
            <h3>With the adapter</h3>
            <pre className="output" data-testid="playground-output-adapter">{p.adapterOutput}</pre>
          </div>
        )}
      </div>
      {p.error && <p className="error-box" role="alert" data-testid="playground-error">{p.error}</p>}
    </section>
  );
}
