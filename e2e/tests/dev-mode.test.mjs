// Journey 1: the storefront in an ordinary browser against a shop without a bot token.
// The app falls back to the backend's dev sign-in and says so with a banner.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cardPrices, cardTitles, recordApiCalls, waitForCards, waitForTitles } from '../lib/catalog.mjs';
import { imagesLoaded, launchBrowser, newPhoneContext, screenshot, startShop, watchErrors } from '../lib/harness.mjs';

describe('plain browser, dev mode', () => {
  let shop;
  let browser;

  before(async () => {
    shop = await startShop();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  });

  test('shows the Dev mode banner and the 12 demo products; category chips filter the list', async () => {
    const context = await newPhoneContext(browser, { baseURL: shop.url });
    const page = await context.newPage();
    const errors = watchErrors(page);
    const calls = recordApiCalls(page);

    await page.goto('/');
    const banner = page.locator('[data-testid=dev-banner]');
    await banner.waitFor();
    assert.match(await banner.innerText(), /dev mode/i);
    await waitForCards(page, 12);

    // Prices are formatted by shared::Money::display().
    const prices = await cardPrices(page);
    assert.equal(prices.length, 12);
    for (const p of prices) assert.match(p, /^(from )?[\d ]+(\.\d\d)? so'm$|^(from )?[\d ]+ ⭐$/, p);
    assert.ok(prices.some((p) => p.endsWith('⭐')), 'the demo catalog has Stars products');

    // The app asked for dev initData, then sent it with every catalog call.
    assert.ok(calls.some((c) => c.path === '/api/dev/init-data'));
    const catalogCalls = calls.filter((c) => c.path === '/api/products' || c.path === '/api/categories');
    assert.ok(catalogCalls.length >= 2);
    const auth = catalogCalls[0].auth;
    assert.match(auth ?? '', /^tma .*hash=[0-9a-f]{64}/);
    for (const c of catalogCalls) assert.equal(c.auth, auth);
    assert.ok(calls.some((c) => c.path === '/api/products' && /limit=20/.test(c.search)));
    const me = await shop.api('/api/me', { Authorization: auth });
    assert.equal(me.status, 200, JSON.stringify(me.body));

    // One chip per category plus "All"; each chip shows exactly that category's products.
    const { body: categories } = await shop.api('/api/categories');
    assert.ok(categories.items.length >= 2);
    assert.equal(await page.locator('[data-testid=category-chip]').count(), categories.items.length + 1);
    for (const category of categories.items) {
      const { body: expected } = await shop.api(`/api/products?category=${category.id}&limit=20`);
      assert.ok(expected.items.length > 0 && expected.items.length < 12);
      const chip = page.locator(`[data-testid=category-chip][data-category-id="${category.id}"]`);
      assert.equal(await chip.innerText(), category.title);
      await chip.click();
      await waitForTitles(page, expected.items.map((p) => p.title));
      assert.equal(await chip.getAttribute('aria-pressed'), 'true');
    }
    await page.locator('[data-testid=category-chip][data-category-id=all]').click();
    await waitForCards(page, 12);
    assert.equal((await cardTitles(page)).length, 12);

    await imagesLoaded(page);
    await screenshot(page, 'catalog-dev');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('loading skeleton, then an error with Retry, which recovers', async () => {
    const context = await newPhoneContext(browser, { baseURL: shop.url });
    const page = await context.newPage();
    let release;
    const held = new Promise((r) => (release = r));
    let failing = true;
    await page.route(/\/api\/products(\?|$)/, async (route) => {
      await held;
      if (failing) return route.abort('connectionrefused');
      return route.continue();
    });

    await page.goto('/');
    await page.locator('[data-testid=catalog-loading]').waitFor();
    await screenshot(page, 'catalog-loading');
    release();

    const error = page.locator('[data-testid=catalog-error]');
    await error.waitFor();
    assert.match(await error.innerText(), /couldn't load the catalog/i);
    await screenshot(page, 'catalog-error');

    failing = false;
    await page.locator('[data-testid=retry]').click();
    await waitForCards(page, 12);
    assert.equal(await error.count(), 0);
    await context.close();
  });

  test('a server error shows its message from the error envelope', async () => {
    const context = await newPhoneContext(browser, { baseURL: shop.url });
    const page = await context.newPage();
    await page.route(/\/api\/products(\?|$)/, (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'unavailable', message: 'The shop is being updated.' } }),
      }),
    );
    await page.goto('/');
    const error = page.locator('[data-testid=catalog-error]');
    await error.waitFor();
    const text = await error.innerText();
    assert.match(text, /The shop is being updated\./);
    assert.match(text, /HTTP 503 · unavailable/);
    await context.close();
  });

  test('an empty catalog shows the empty state', async () => {
    const context = await newPhoneContext(browser, { baseURL: shop.url });
    const page = await context.newPage();
    await page.route(/\/api\/products(\?|$)/, (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: '{"items":[],"next_cursor":null}' }),
    );
    await page.goto('/');
    const empty = page.locator('[data-testid=catalog-empty]');
    await empty.waitFor();
    assert.match(await empty.innerText(), /no products/i);
    assert.equal(await page.locator('[data-testid=product-card]').count(), 0);
    await screenshot(page, 'catalog-empty');
    await context.close();
  });
});
