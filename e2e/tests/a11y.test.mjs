// Journey 7: accessibility. axe-core checks catalog, product, cart, checkout and order pages
// in light and dark, inside Telegram (its theme colours) and in a plain browser (the
// stylesheet's own fallbacks); any serious or critical violation fails, named with its
// element. A keyboard walk checks that every focus stop is visible.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { invisibleFocus, seriousViolations } from '../lib/a11y.mjs';
import { waitForCards } from '../lib/catalog.mjs';
import { imagesLoaded, launchBrowser, newPhoneContext, startShop, watchErrors } from '../lib/harness.mjs';
import { productWithOption, waitForText } from '../lib/shop.mjs';
import { THEMES, customerInitData, installTelegramStub } from '../lib/telegram.mjs';

const BOT_TOKEN = '123456789:A11Y-token';

describe('accessibility of every page', () => {
  let tgShop;
  let devShop;
  let browser;

  before(async () => {
    [tgShop, devShop] = await Promise.all([
      startShop({ botToken: BOT_TOKEN, env: { TELEGRAM_API_URL: 'http://127.0.0.1:9' } }),
      startShop(),
    ]);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await tgShop?.stop();
    await devShop?.stop();
  });

  /**
   * Walks catalog → product → cart → checkout → a placed cash order, checking each page.
   * The primary action is Telegram's MainButton (tapped through the stub) or the in-page bar.
   */
  async function walk(shop, page, primary) {
    const problems = {};
    const check = async (name) => {
      // A still page: no toast, no skeleton.
      await page.waitForFunction(() => !document.querySelector('[data-testid=toast]')?.textContent);
      await page.waitForFunction(() => !document.querySelector('[aria-busy=true]'));
      const found = [...(await seriousViolations(page)), ...(await invisibleFocus(page)).map((n) => `focus not visible: ${n}`)];
      if (found.length) problems[name] = found;
    };
    const dress = await productWithOption(shop, 'size');
    await page.goto('/');
    await waitForCards(page, 12);
    await imagesLoaded(page);
    await check('catalog');

    await page.goto(`/product/${dress.id}`);
    await page.locator('[data-testid=product-title]').waitFor();
    await check('product');
    await page.locator('[data-testid=option]').nth(1).click();
    await primary();
    await waitForText(page, '[data-testid=cart-count]', /^1$/);

    await page.goto('/cart');
    await page.locator('[data-testid=cart-line]').waitFor();
    await check('cart');

    // The checkout offers a returning customer's last contact back (GET /api/me): the dev
    // user of the other plain-browser run has one. Let it arrive, then empty the fields.
    const me = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/me');
    await page.goto('/checkout');
    await page.locator('[data-testid="contact.name"]').waitFor();
    await me;
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    for (const f of ['contact.name', 'contact.phone', 'contact.address']) {
      await page.locator(`[data-testid="${f}"]`).fill('');
    }
    await check('checkout');
    // With field errors showing, too.
    await primary();
    await page.locator('[data-testid="contact.name-error"]:not(:empty)').waitFor();
    await check('checkout with errors');
    await page.locator('[data-testid="contact.name"]').fill('Nodira Yusupova');
    await page.locator('[data-testid="contact.phone"]').fill('+998 90 765 43 21');
    await page.locator('[data-testid="contact.address"]').fill('Bobur 3, Bukhara');
    await primary();
    await page.waitForURL(/\/orders\/\d+$/);
    await page.locator('[data-testid=timeline]').waitFor();
    await check('order');

    await page.goto('/orders');
    await page.locator('[data-testid=order-row]').first().waitFor();
    await check('orders');
    return problems;
  }

  for (const [i, scheme] of ['light', 'dark'].entries()) {
    test(`inside Telegram, ${scheme} theme: no serious violations, focus visible`, async () => {
      const context = await newPhoneContext(browser, { baseURL: tgShop.url, colorScheme: scheme });
      await installTelegramStub(context, {
        initData: customerInitData(BOT_TOKEN, { id: 700_001 + i }),
        themeParams: THEMES[scheme],
        colorScheme: scheme,
      });
      const page = await context.newPage();
      const errors = watchErrors(page);
      const problems = await walk(tgShop, page, () =>
        page.evaluate(() => window.Telegram.WebApp.MainButton.__tap()),
      );
      assert.deepEqual(problems, {}, JSON.stringify(problems, null, 2));
      assert.deepEqual(errors, []);
      await context.close();
    });

    test(`plain browser, ${scheme} system theme: no serious violations, focus visible`, async () => {
      // One dev customer for both runs: start from an empty cart.
      const { body } = await devShop.api('/api/dev/init-data');
      const emptied = await fetch(`${devShop.url}/api/cart`, {
        method: 'PUT',
        headers: { Authorization: `tma ${body.init_data}`, 'content-type': 'application/json' },
        body: '{"items":[]}',
      });
      assert.equal(emptied.status, 200);
      const context = await newPhoneContext(browser, { baseURL: devShop.url, colorScheme: scheme });
      const page = await context.newPage();
      const errors = watchErrors(page);
      const problems = await walk(devShop, page, () => page.locator('[data-testid=main-action]').click());
      assert.deepEqual(problems, {}, JSON.stringify(problems, null, 2));
      assert.deepEqual(errors, []);
      await context.close();
    });
  }
});
