// Journey 5: shopping inside Telegram (stub WebApp): MainButton drives each page, BackButton
// follows history, haptics on add to cart, the deep link from start_param, the language from
// the Telegram user. Screenshots of every page, light and dark, in e2e/artifacts/. Paying
// (openInvoice, openLink) runs against the real rails in payments.test.mjs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { waitForCards } from '../lib/catalog.mjs';
import { imagesLoaded, launchBrowser, newPhoneContext, screenshot, startShop, watchErrors } from '../lib/harness.mjs';
import { productWithOption, recordRequests, waitForText } from '../lib/shop.mjs';
import { THEMES, customerInitData, installTelegramStub, mainButton, tapMainButton } from '../lib/telegram.mjs';

const BOT_TOKEN = '123456789:TEST-token';

describe('shopping inside Telegram', () => {
  let shop;
  let browser;

  before(async () => {
    shop = await startShop({ botToken: BOT_TOKEN, env: { TELEGRAM_API_URL: 'http://127.0.0.1:9' } });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  });

  async function open(scheme, opts = {}) {
    const context = await newPhoneContext(browser, { baseURL: shop.url, colorScheme: scheme });
    const initData = customerInitData(BOT_TOKEN, { id: opts.userId ?? 500_001, language_code: opts.languageCode ?? 'en' });
    await installTelegramStub(context, {
      initData,
      themeParams: THEMES[scheme],
      colorScheme: scheme,
      startParam: opts.startParam,
      languageCode: opts.languageCode ?? 'en',
    });
    const page = await context.newPage();
    return { context, page, auth: `tma ${initData}` };
  }

  // A still page for the picture: no toast, no chip mid-transition.
  async function shot(page, name) {
    await page.waitForFunction(() => !document.querySelector('[data-testid=toast]')?.textContent, null, {
      timeout: 8_000,
    });
    await page.waitForTimeout(300);
    await screenshot(page, name);
  }

  const tgCalls = (page) => page.evaluate(() => [...window.__tgCalls]);

  for (const [i, scheme] of ['light', 'dark'].entries()) {
    test(`${scheme}: MainButton and BackButton through product, cart, checkout and order`, async () => {
      const { context, page, auth } = await open(scheme, { userId: 500_100 + i });
      const errors = watchErrors(page);
      const reqs = recordRequests(page);
      const dress = await productWithOption(shop, 'size');

      await page.goto('/');
      await waitForCards(page, 12);
      assert.equal((await mainButton(page)).visible, false, 'no MainButton on the catalog');
      assert.equal(await page.locator('[data-testid=main-action]').count(), 0, 'no in-page bar inside Telegram');
      assert.equal(await page.locator('[data-testid=back]').count(), 0, 'Telegram has the back button');
      await imagesLoaded(page);
      await shot(page, `shop-catalog-${scheme}`);

      await page.locator(`[data-testid=product-card][data-product-id="${dress.id}"]`).click();
      await page.locator('[data-testid=product-title]').waitFor();
      let calls = await tgCalls(page);
      assert.ok(calls.includes('BackButton.show'), calls.join());
      assert.match((await mainButton(page)).text, /add to cart/i);
      await page.locator('[data-testid=option]').nth(1).click();
      await imagesLoaded(page);
      await shot(page, `shop-product-${scheme}`);
      assert.equal(await tapMainButton(page), true);
      await waitForText(page, '[data-testid=cart-count]', /^1$/);
      calls = await tgCalls(page);
      assert.ok(calls.some((c) => c.startsWith('haptic.')), `haptic feedback on add: ${calls}`);

      // BackButton goes back in history.
      await page.evaluate(() => window.Telegram.WebApp.BackButton.__tap());
      await page.waitForURL((u) => u.pathname === '/');
      await page.waitForFunction(() => !window.Telegram.WebApp.BackButton.isVisible);

      await page.locator('[data-testid=cart-link]').click();
      await page.locator('[data-testid=cart-line]').waitFor();
      await page.waitForFunction(() => /checkout/i.test(window.Telegram.WebApp.MainButton.text));
      await shot(page, `shop-cart-${scheme}`);
      await tapMainButton(page);
      await page.waitForURL('**/checkout');
      await page.locator('[data-testid="contact.name"]').fill('Dilshod Rahimov');
      await page.locator('[data-testid="contact.phone"]').fill('+998 91 555 12 34');
      await page.locator('[data-testid="contact.address"]').fill('Amir Temur 5, Samarkand');
      assert.match((await mainButton(page)).text, /place order/i);
      await shot(page, `shop-checkout-${scheme}`);

      // The order request is held so the button's progress state can be seen; a second tap
      // while it runs does nothing.
      let release;
      const held = new Promise((r) => (release = r));
      await page.route('**/api/orders?*', async (route) => {
        if (route.request().method() === 'POST') await held;
        return route.continue();
      });
      await tapMainButton(page);
      await page.waitForFunction(() => window.Telegram.WebApp.MainButton.isProgressVisible);
      assert.equal(await tapMainButton(page), false, 'inactive while the order is placed');
      release();
      await page.waitForURL(/\/orders\/\d+$/);
      await page.locator('[data-testid=order-status]').waitFor();
      assert.equal(await page.locator('[data-testid=order-status]').getAttribute('data-status'), 'pending_payment');
      assert.match(await page.locator('[data-testid=order-contact]').innerText(), /Dilshod Rahimov/);
      const posts = reqs.filter((r) => r.method === 'POST' && r.path === '/api/orders');
      assert.equal(posts.length, 1);
      for (const r of reqs) assert.equal(r.auth, auth, `${r.path} sent the wrong Authorization`);
      const { body: orders } = await shop.api('/api/orders', { Authorization: auth });
      assert.equal(orders.items.length, 1);
      assert.ok((await tgCalls(page)).includes('MainButton.showProgress'));
      assert.match((await mainButton(page)).text, /continue shopping/i);
      await shot(page, `shop-order-${scheme}`);
      assert.deepEqual(errors, []);
      await context.close();
    });
  }

  test('start_param product_<id> opens that product, in the Telegram user\'s language', async () => {
    const { body } = await shop.api('/api/products?limit=20&lang=ru');
    const p = body.items[5];
    const { context, page } = await open('light', { startParam: `product_${p.id}`, languageCode: 'ru' });
    await page.goto('/');
    await page.waitForURL(`**/product/${p.id}`);
    await waitForText(page, '[data-testid=product-title]', new RegExp(p.title));
    await page.waitForFunction(() => window.Telegram.WebApp.MainButton.text === 'В корзину');
    // Back from the deep-linked page: the catalog, still inside the app.
    await page.evaluate(() => window.Telegram.WebApp.BackButton.__tap());
    await page.waitForURL((u) => u.pathname === '/');
    await waitForCards(page, 12);
    assert.equal(await page.locator('.topbar__title').first().innerText(), 'Каталог');
    await context.close();
  });
});
