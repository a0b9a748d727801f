// What a phone downloads to open the storefront: the page, JS glue, WASM and CSS, each sent
// compressed with the right type, and the hashed assets cacheable for good.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { waitForCards } from '../lib/catalog.mjs';
import { launchBrowser, newPhoneContext, startShop } from '../lib/harness.mjs';

describe('first load', () => {
  let shop;
  let browser;
  let assets;

  before(async () => {
    shop = await startShop();
    browser = await launchBrowser();
    const context = await newPhoneContext(browser, { baseURL: shop.url });
    const page = await context.newPage();
    assets = [];
    page.on('response', async (res) => {
      const url = new URL(res.url());
      if (url.origin !== shop.url || url.pathname.startsWith('/api/') || url.pathname.startsWith('/media/')) return;
      assets.push({ path: url.pathname, status: res.status(), headers: await res.allHeaders() });
    });
    await page.goto('/');
    await waitForCards(page, 12);
    await context.close();
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  });

  test('page, JS, WASM and CSS arrive brotli-compressed with their types', (t) => {
    const kinds = { '/': /^text\/html/, '.js': /javascript/, '.wasm': /^application\/wasm$/, '.css': /^text\/css/ };
    let total = 0;
    for (const [suffix, type] of Object.entries(kinds)) {
      const hits = assets.filter((a) => (suffix === '/' ? a.path === '/' : a.path.endsWith(suffix)));
      assert.equal(hits.length, 1, `exactly one ${suffix} in the first load: ${JSON.stringify(assets.map((a) => a.path))}`);
      const [a] = hits;
      assert.equal(a.status, 200, a.path);
      assert.match(a.headers['content-type'] ?? '', type, a.path);
      assert.equal(a.headers['content-encoding'], 'br', `${a.path} not brotli`);
      total += Number(a.headers['content-length'] ?? 0);
    }
    t.diagnostic(`first load over the wire: ${(total / 1024).toFixed(1)} KB (brotli)`);
    const page = assets.find((a) => a.path === '/');
    assert.match(page.headers['cache-control'] ?? '', /no-cache/);
  });

  test('hashed assets are cached for a year as immutable', () => {
      for (const a of assets.filter((a) => a.path !== '/')) {
        assert.match(a.headers['cache-control'] ?? '', /max-age=31536000.*immutable/, a.path);
      }
  });
});
