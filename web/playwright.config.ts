import { defineConfig } from '@playwright/test';

// End-to-end tests: the system Chromium against a real `parley serve` that each worker
// starts itself (e2e/fixtures.ts) on a free loopback port, serving the build in dist/.
export default defineConfig({
  testDir: 'e2e',
  outputDir: 'e2e-artifacts/results',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  // Two workers for two cores. Files start in name order, so the longest one
  // (10k-messages, most of it seeding) starts first and the others run beside it.
  workers: 2,
  retries: 0,
  reporter: [['list'], ['html', { outputFolder: 'e2e-artifacts/report', open: 'never' }]],
  use: {
    viewport: { width: 1280, height: 800 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
