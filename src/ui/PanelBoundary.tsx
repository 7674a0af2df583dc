// A panel that throws while rendering shows what went wrong, in plain words, instead of taking
// the whole studio down with it; "Try again" renders it afresh.
import { Component, type ErrorInfo, type ReactNode } from 'react';

export class PanelBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('studio panel failed', error, info.componentStack);
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <section className="panel error" role="alert" data-testid="panel-error">
        <h2>This panel failed</h2>
        <p>{this.state.error.message}</p>
        <button type="button" onClick={() => this.setState({ error: null })}>Try again</button>
      </section>
    );
  }
}
