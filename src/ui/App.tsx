// The studio shell: GPU, model, data, playground. Later issues add method, training and evaluation panels.
import { GpuPanel } from './GpuPanel.tsx';
import { ModelPanel } from './ModelPanel.tsx';
import { Playground } from './Playground.tsx';
import { DataPanel } from './DataPanel.tsx';

export function App() {
  return (
    <main>
      <header>
        <h1>MoR1E Studio</h1>
        <p className="tagline">Finetune small language models in your browser, on your GPU, with mixtures of rank-1 experts.</p>
      </header>
      <GpuPanel />
      <ModelPanel />
      <DataPanel />
      <Playground />
    </main>
  );
}
