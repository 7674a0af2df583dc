// The first run's settings: T-REX 4 x 8 (dense) on the bundled model and suite, shared by the
// studio's Method step (src/ui/method.ts defaultForm) and the CLI (scripts/cli/options.ts
// DEFAULTS); README "Does it learn?" studies exactly these: 600 AdamW steps of 16 rows (9,600
// rows, 2.4 epochs of the suite) at lr 5e-3 with a cosine schedule and 30 warmup steps. The
// bundled 2M-parameter model learns the suite's eight tasks together only past about 1,000 rows
// a task (in the study, three or four of the eight move by 300 steps, most by 600), and it wants
// a learning rate far above the paper's 5e-5 for 13B models.
export const FIRST_RUN = {
  method: 'trex',
  r1: 4,
  r2: 8,
  steps: 600,
  batchSize: 16,
  lr: 5e-3,
  schedule: 'cosine',
  /** 5% of the steps. */
  warmupSteps: 30,
  maxLength: 128,
  seed: 0,
} as const;
