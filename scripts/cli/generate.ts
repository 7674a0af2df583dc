// npm run generate -- --prompt "…" [--model …] [--adapter <dir>] [--compare]: a generation of the
// app's own engine in headless Chromium, through a trained adapter, and with --compare the base
// model's beside it.
import type { GenerateRequest, GenerateResult } from '../../src/worker/api.ts';
import { ADAPTER_MOUNT, CliError, EXIT, GENERATE_HELP, MODEL_MOUNT, modelName, modelSourceOf, parseGenerateArgs, optionsOrExit } from './options.ts';
import { describeGpu, openSession, type Mounts, type Session } from './session.ts';

const log = (s: string) => process.stdout.write(s + '\n');

export async function main(argv: string[], root: string): Promise<number> {
  const parsed = optionsOrExit('generate', () => parseGenerateArgs(argv), GENERATE_HELP);
  if ('exit' in parsed) return parsed.exit;
  const o = parsed.options;
  const mounts: Mounts = {};
  if (o.model.kind === 'folder') mounts[MODEL_MOUNT] = { dir: o.model.path };
  if (o.adapter) mounts[ADAPTER_MOUNT] = { dir: o.adapter };
  let session: Session | null = null;
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write('\ngenerate: Ctrl-C — stopping\n');
    void session?.close();
  };
  process.on('SIGINT', onSigint);
  let stage = 'starting';
  try {
    session = await openSession({ root, port: o.port, mounts, verbose: !!process.env.MOR1E_CLI_VERBOSE });
    const { page, gpu } = session;
    process.stderr.write(describeGpu(gpu) + '\n');
    stage = 'loading the model';
    await page.evaluate((src) => window.mor1e!.loadModel(src), modelSourceOf(o.model, MODEL_MOUNT, o.hubUrl)).catch((e: Error) => {
      throw new CliError(`--model ${modelName(o.model)}: ${e.message.replace(/^Error: /, '')}`);
    });
    if (o.adapter) {
      stage = 'loading the adapter';
      const info = await page.evaluate((url) => window.mor1e!.loadAdapter(url), ADAPTER_MOUNT).catch((e: Error) => {
        throw new CliError(`--adapter ${o.adapter}: ${e.message.replace(/^Error: /, '')}`);
      });
      process.stderr.write(`adapter: ${info.method} (${info.format}), ${info.layers} layers, ${info.parameters} parameters${info.intuition ? `, intuition ${info.intuition.source}` : ''}\n`);
      for (const w of info.warnings) process.stderr.write(`  warning: ${w}\n`);
    }
    const req: GenerateRequest = {
      prompt: o.raw ? o.prompt : [{ role: 'user', content: o.prompt }],
      maxNewTokens: o.maxNewTokens,
      ...(o.temperature > 0 ? { temperature: o.temperature, seed: o.seed } : { temperature: 0 }),
    };
    stage = 'generating';
    const run = (adapter: boolean): Promise<GenerateResult> => page.evaluate(([r, a]) => window.mor1e!.generate({ ...r, adapter: a }), [req, adapter] as const);
    if (o.compare) {
      const base = await run(false);
      const tuned = await run(true);
      log(`── base model (${modelName(o.model)}) ──\n${base.text}\n── with the adapter (${o.adapter}) ──\n${tuned.text}`);
    } else {
      log((await run(o.adapter !== null)).text);
    }
    return EXIT.ok;
  } catch (e) {
    if (interrupted) return EXIT.interrupted;
    if (e instanceof CliError) {
      process.stderr.write(`generate: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`generate: ${stage} failed: ${e instanceof Error ? e.message : e}\n`);
    return EXIT.failed;
  } finally {
    await session?.close();
    process.off('SIGINT', onSigint);
  }
}
