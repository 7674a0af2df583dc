// A view's default prompt: the dataset's first validation row (its first row before a model splits
// the data), read from the worker when the dataset changes and the view still wants one.
import { useEffect } from 'react';
import { engineClient, useStore } from './store/index.ts';

async function firstPrompt(tokenized: boolean): Promise<string | null> {
  const page = await engineClient().api.previewRows({ offset: 0, count: 1, split: tokenized ? 'validation' : 'all' });
  return page.rows[0]?.instruction ?? null;
}

/** Calls `apply` with the first row's prompt while `wanted` (each view decides what an untouched prompt is). */
export function useFirstPrompt(wanted: boolean, apply: (prompt: string) => void): void {
  const data = useStore((s) => s.data.result);
  const dataKey = data ? `${data.name}|${data.kept}|${data.tokenized}` : '';
  useEffect(() => {
    if (!dataKey || !wanted) return;
    let live = true;
    firstPrompt(dataKey.endsWith('true')).then(
      (p) => {
        if (live && p !== null) apply(p);
      },
      () => {},
    );
    return () => {
      live = false;
    };
    // `apply` is a fresh closure each render; the prompt is read again when the data or `wanted` change.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dataKey, wanted]);
}
