import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { Browser, Page } from 'puppeteer-core';

/** Debian's chromium; .ci/run installs it. CHROME_BIN points elsewhere when needed. */
export function chromiumPath(): string {
  const path = process.env.CHROME_BIN || '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `No Chromium at ${path}: install Debian's chromium (apt-get install chromium, as .ci/run does) ` +
        'or set CHROME_BIN to a Chromium/Chrome binary.',
    );
  }
  return path;
}

export interface HeadlessBrowser {
  browser: Browser;
  /** A new tab that records uncaught page errors, console errors and failed requests. */
  page(): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

/** Headless Chromium with a throw-away profile; close() removes the profile too. */
export async function launchBrowser(): Promise<HeadlessBrowser> {
  const executablePath = chromiumPath();
  const profile = await mkdtemp(join(tmpdir(), 'bcb-chromium-'));
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath,
      headless: true,
      userDataDir: profile,
      timeout: 30_000,
      // Bounds every DevTools call, so a wedged browser fails the test instead of hanging it.
      protocolTimeout: 30_000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        // Without these Chromium waits on Google services that a closed network never answers.
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    browser,
    async page() {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 900 });
      page.setDefaultTimeout(15_000);
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(`pageerror: ${String(err)}`));
      page.on('console', (msg) => {
        if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
      });
      page.on('requestfailed', (req) =>
        errors.push(`requestfailed: ${req.url()} ${req.failure()?.errorText ?? ''}`),
      );
      return { page, errors };
    },
    async close() {
      await browser.close().catch(() => browser.process()?.kill('SIGKILL'));
      await rm(profile, { recursive: true, force: true });
    },
  };
}
