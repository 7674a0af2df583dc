// The studio: a compact header (GPU, presentation mode), a left column of steps whose state shows
// at a glance, and the chosen step's panel in the main area.
import type { ReactElement } from 'react';
import { useStore } from './store/index.ts';
import type { StepId } from './store/uiSlice.ts';
import { GpuStatus, GpuUnavailable } from './GpuPanel.tsx';
import { StepNav } from './StepNav.tsx';
import { ModelPanel } from './ModelPanel.tsx';
import { DataPanel } from './DataPanel.tsx';
import { MethodPanel } from './MethodPanel.tsx';
import { TrainPanel } from './TrainPanel.tsx';
import { ExpertsPanel } from './ExpertsPanel.tsx';
import { ClustersPanel } from './ClustersPanel.tsx';
import { EvaluatePanel } from './EvaluatePanel.tsx';
import { Playground } from './Playground.tsx';
import { PanelBoundary } from './PanelBoundary.tsx';
import { ExportPanel } from './ExportPanel.tsx';

const PANELS: Record<StepId, () => ReactElement | null> = {
  model: ModelPanel, data: DataPanel, method: MethodPanel, train: TrainPanel, experts: ExpertsPanel, clusters: ClustersPanel, evaluate: EvaluatePanel, playground: Playground, export: ExportPanel,
};

export function App() {
  const step = useStore((s) => s.ui.step);
  const presentation = useStore((s) => s.ui.presentation);
  const patchUi = useStore((s) => s.patchUi);
  const unavailable = useStore((s) => s.gpu.status === 'unavailable');
  const Panel = PANELS[step];
  return (
    <div className={`studio${presentation ? ' presentation' : ''}`}>
      <header className="studio-header">
        <h1>MoR1E Studio</h1>
        <span className="tagline">Finetune small language models in your browser, on your GPU, with mixtures of rank-1 experts.</span>
        <GpuStatus />
        <label className="toggle">
          <input type="checkbox" data-testid="presentation-toggle" checked={presentation} onChange={(e) => patchUi({ presentation: e.target.checked })} /> Large type
        </label>
      </header>
      {unavailable ? (
        <GpuUnavailable />
      ) : (
        <div className="studio-body">
          <StepNav />
          <main className="studio-main" data-testid={`main-${step}`}>
            <PanelBoundary key={step}>
              <Panel />
            </PanelBoundary>
          </main>
        </div>
      )}
    </div>
  );
}
