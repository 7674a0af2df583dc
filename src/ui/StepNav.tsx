// The left column: the studio's steps in order, each with its state (done, in progress, ready,
// blocked or failed) and one line saying why; the chosen one fills the main area.
import { useStore } from './store/index.ts';
import { stepViews, type StepStatus } from './steps.ts';

const ICON: Record<StepStatus, string> = { done: '✓', active: '◐', ready: '○', blocked: '⊘', error: '!' };
/** The main path is numbered; Experts and Clusters are views beside it. */
const NUMBER: Partial<Record<string, number>> = { model: 1, data: 2, method: 3, train: 4, evaluate: 5, playground: 6, export: 7 };
const SPOKEN: Record<StepStatus, string> = { done: 'done', active: 'in progress', ready: 'ready', blocked: 'blocked', error: 'needs attention' };

export function StepNav() {
  const state = useStore();
  const steps = stepViews(state);
  const current = state.ui.step;
  return (
    <nav className="steps" aria-label="Studio steps">
      <ol>
        {steps.map((s) => (
          <li key={s.id} className={NUMBER[s.id] ? undefined : 'view'}>
            <button
              type="button"
              data-testid={`step-${s.id}`}
              data-state={s.status}
              aria-current={current === s.id ? 'step' : undefined}
              className={`step ${s.status}${current === s.id ? ' current' : ''}`}
              onClick={() => state.setStep(s.id)}
            >
              <span className="step-icon" aria-label={SPOKEN[s.status]}>{ICON[s.status]}</span>
              <span className="step-text">
                <span className="step-name">{NUMBER[s.id] ? `${NUMBER[s.id]}. ` : ''}{s.label}</span>
                <span className="step-detail" data-testid={`step-${s.id}-detail`}>{s.detail}</span>
              </span>
            </button>
          </li>
        ))}
      </ol>
    </nav>
  );
}
