// Playwright: GPU parity specs and UI specs in real headless Chromium with WebGPU, served by
// Vite. One worker and serial files: WebGPU instances coming and going in parallel has broken
// shared CI runners, and SwiftShader is CPU-bound anyway.
import { defineConfig } from '@playwright/test';
import { chromiumArgs, chromiumPath, resolveWebgpuAdapter } from './scripts/chromium.mjs';

// A hardware adapter when Chromium finds one, else SwiftShader (printed once; MOR1E_REQUIRE_GPU=1 refuses the fallback).
await resolveWebgpuAdapter();

const PORT = Number(process.env.MOR1E_TEST_PORT ?? 5174);
const HUB_PORT = Number(process.env.MOR1E_HUB_PORT ?? 5175);

export default defineConfig({
  testDir: 'e2e',
  testMatch: /.*\.spec\.ts$/,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 30_000 },
  reporter: process.env.CI ? [['list']] : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    browserName: 'chromium',
    headless: true,
    launchOptions: {
      executablePath: chromiumPath(),
      args: chromiumArgs(),
    },
  },
  webServer: [
    {
      command: `npx vite --port ${PORT} --strictPort --host 127.0.0.1`,
      url: `http://127.0.0.1:${PORT}/e2e/harness.html`,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
    {
      // The fixture hub: the Hugging Face URL layout served from e2e/fixtures/models.
      command: `node e2e/hub-server.mjs`,
      url: `http://127.0.0.1:${HUB_PORT}/__requests`,
      env: { MOR1E_HUB_PORT: String(HUB_PORT) },
      reuseExistingServer: !process.env.CI,
      timeout: 30_000,
    },
  ],
});
