// Before the GPU tests or benchmarks: make sure a Chromium exists. If neither $CHROMIUM_PATH
// nor a system Chromium is found, install Playwright's own; where that cannot be downloaded,
// stop with a message that names the Debian/Ubuntu package.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright';
import { chromiumPath } from './chromium.mjs';

const system = chromiumPath();
if (system) {
  console.log(`chromium: ${system}`);
} else if (existsSync(chromium.executablePath())) {
  console.log(`chromium: Playwright's own (${chromium.executablePath()})`);
} else {
  console.log('chromium: none found; installing Playwright\'s Chromium (npx playwright install chromium)…');
  try {
    execFileSync('npx', ['playwright', 'install', 'chromium'], { stdio: 'inherit' });
  } catch {
    console.error(
      '\nNo Chromium is available and Playwright could not download its own.\n' +
        'Install a system Chromium and run again:\n' +
        '  Debian/Ubuntu: sudo apt-get install -y chromium   (Ubuntu may name it chromium-browser)\n' +
        'or point CHROMIUM_PATH at a Chromium or Chrome binary.',
    );
    process.exit(1);
  }
}
