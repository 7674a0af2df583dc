// The first run's settings: T-REX 4 x 8 (dense) on the bundled model and suite, shared by the
// studio's Method step (src/ui/method.ts defaultForm) and the CLI (scripts/cli/options.ts
// DEFAULTS). README "Does it learn?" measures exactly these: 150 AdamW steps of 16 rows (2,400
// rows, about half an epoch of the suite) at lr 5e-3 with a cosine schedule and 8 warmup steps.
// A 2M-parameter model wants a learning rate far above the paper's 5e-5 for 13B models.
export const FIRST_RUN = {
  method: 'trex',
  r1: 4,
  r2: 8,
  steps: 150,
  batchSize: 16,
  lr: 5e-3,
  schedule: 'cosine',
  /** 5% of the steps. */
  warmupSteps: 8,
  maxLength: 128,
  seed: 0,
} as const;
