// Starts the release binary against a throwaway SQLite database and drives the built
// storefront in Debian's Chromium. Builds nothing: run `cargo build --release -p shop` and
// `scripts/build-frontend.sh` first.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHOP_BIN = process.env.SHOP_BIN || join(REPO, 'target', 'release', 'shop');
export const DIST_DIR = process.env.DIST_DIR || join(REPO, 'dist');
export const ARTIFACTS = join(REPO, 'e2e', 'artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Flags for a quiet, offline, reproducible headless Chromium. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

/** A phone: iPhone 12–15 sized. */
export const PHONE = { width: 390, height: 844 };

function requireBuilt() {
  const missing = [];
  if (!existsSync(SHOP_BIN)) missing.push(`${SHOP_BIN} (cargo build --release -p shop)`);
  if (!existsSync(join(DIST_DIR, 'index.html'))) {
    missing.push(`${join(DIST_DIR, 'index.html')} (scripts/build-frontend.sh)`);
  }
  if (missing.length) {
    throw new Error(`e2e needs built artifacts; missing:\n  ${missing.join('\n  ')}`);
  }
}

async function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/**
 * Starts `target/release/shop` on a free port with the demo catalog.
 * @param {{ botToken?: string, env?: Record<string, string> }} opts
 */
export async function startShop({ botToken, env = {} } = {}) {
  requireBuilt();
  const dir = await mkdtemp(join(tmpdir(), 'shop-e2e-'));
  const media = join(dir, 'media');
  await mkdir(media);
  const port = await freePort();
  const childEnv = { ...process.env };
  // Only what this test sets: no inherited shop configuration.
  for (const k of Object.keys(childEnv)) {
    if (/^(TELEGRAM_|STRIPE_|PAYPAL_|CLICK_|PAYME_|ADMIN_)/.test(k)) delete childEnv[k];
  }
  Object.assign(childEnv, {
    BIND_ADDR: `127.0.0.1:${port}`,
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: `sqlite://${join(dir, 'shop.db')}`,
    SEED_DEMO: '1',
    DIST_DIR,
    MEDIA_DIR: media,
    RATE_LIMIT_PER_MINUTE: '0',
    RUST_LOG: process.env.RUST_LOG || 'warn',
    ...(botToken ? { TELEGRAM_BOT_TOKEN: botToken } : {}),
    ...env,
  });
  // cwd is the temp dir so the repo's .env (if any) is not read.
  const child = spawn(SHOP_BIN, [], { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((ok) => child.once('exit', (code, signal) => ok({ code, signal })));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`shop exited with ${child.exitCode} before it was up:\n${log}`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`shop did not answer /healthz within 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    get log() {
      return log;
    },
    /** GET a JSON API path from the test itself. */
    async api(path, headers = {}) {
      const res = await fetch(url + path, { headers });
      return { status: res.status, body: await res.json() };
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: CHROMIUM_ARGS,
  });
}

/**
 * A fresh phone-sized context (its own profile) whose pages never reach telegram.org:
 * the script tag fails at once, as it does offline, instead of waiting on the network.
 */
export async function newPhoneContext(browser, { baseURL, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({
    baseURL,
    viewport: PHONE,
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    colorScheme,
    locale: 'en-US',
  });
  await context.route(/^https?:\/\/([^/]+\.)?telegram\.org\//, (route) => route.abort());
  return context;
}

/** Collects the page's console errors and uncaught exceptions. */
export function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // The blocked telegram.org script is expected to fail; nothing else may.
    if (m.type() === 'error' && !/^https:\/\/telegram\.org\//.test(m.location()?.url ?? '')) {
      errors.push(`console: ${m.text()}`);
    }
  });
  return errors;
}

/** Waits until every image on the page has finished loading (for screenshots). */
export async function imagesLoaded(page) {
  await page.waitForFunction(() =>
    [...document.images].every((img) => img.complete && img.naturalWidth > 0),
  );
}

export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}
