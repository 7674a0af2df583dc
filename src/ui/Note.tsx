// A short note at the top of a panel: what it shows and what to do there, for a first-time user.
import type { ReactNode } from 'react';

export function Note({ children }: { children: ReactNode }) {
  return <p className="note">{children}</p>;
}
