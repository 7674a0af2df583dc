// npm run compare -- [options]: the comparison (compareRun.ts) in one headless Chromium session,
// through the app's own worker (window.mor1e), as finetune. On a GPU machine without a browser,
// `npm run compare:node` runs the same comparison in Node through Dawn (compare-node.ts).
import { COMPARE_HELP, parseCompareArgs, optionsOrExit } from './options.ts';
import { openSession } from './session.ts';
import { metricsFrom } from './pageOps.ts';
import { runCompare, type CompareDriver } from './compareRun.ts';

export { resultsMarkdown, keptNotesOf, type CompareDoc, type CompareRun } from './compareRun.ts';

export async function main(argv: string[], root: string): Promise<number> {
  const parsed = optionsOrExit('compare', () => parseCompareArgs(argv), COMPARE_HELP);
  if ('exit' in parsed) return parsed.exit;
  const o = parsed.options;
  return runCompare(o, root, async (mounts): Promise<CompareDriver> => {
    const session = await openSession({ root, port: o.base.port, mounts, verbose: !!process.env.MOR1E_CLI_VERBOSE });
    const { page } = session;
    return {
      gpu: session.gpu,
      runner: 'chromium',
      pollMs: 1000,
      loadModel: (src) => page.evaluate((s) => window.mor1e!.loadModel(s), src),
      importDataset: (input, options) => page.evaluate(([i, op]) => window.mor1e!.importDataset(i, op), [input, options] as const),
      evaluate: (req) => page.evaluate((r) => window.mor1e!.evaluate(r), req),
      startRun: (cfg) => page.evaluate((c) => window.mor1e!.startRun(c), cfg),
      runState: () => page.evaluate(() => window.mor1e!.runState()),
      metricsFrom: (from) => metricsFrom(page, from),
      close: () => session.close(),
    };
  });
}
