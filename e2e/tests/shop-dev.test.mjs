// Journey 4: shopping in a plain browser (dev mode): search and endless scroll, a product
// with variants, the cart, checkout with cash, orders, language switch, a deep link. Outside
// Telegram the page's primary action is the in-page bar ([data-testid=main-action]).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { cardTitles, waitForCards, waitForTitles } from '../lib/catalog.mjs';
import { launchBrowser, newPhoneContext, startShop, watchErrors } from '../lib/harness.mjs';
import { productWithOption, recordRequests, waitForText } from '../lib/shop.mjs';

describe('shopping in a plain browser (dev mode)', () => {
  let shop;
  let browser;
  let auth;

  before(async () => {
    shop = await startShop();
    browser = await launchBrowser();
    auth = `tma ${(await shop.api('/api/dev/init-data')).body.init_data}`;
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  });

  test('search is debounced and endless scroll follows next_cursor', async () => {
    const context = await newPhoneContext(browser, { baseURL: shop.url });
    const page = await context.newPage();
    const errors = watchErrors(page);
    const reqs = recordRequests(page);
    // Small pages, so the 12 demo products take three of them.
    await page.route(/\/api\/products\?/, (route) =>
      route.continue({ url: route.request().url().replace('limit=20', 'limit=5') }),
    );
    await page.goto('/');
    await waitForCards(page, 5);
    // The top bar's icons are drawn (an SVG written the wrong way renders as an empty box).
    for (const id of ['orders-link', 'cart-link']) {
      const box = await page.locator(`[data-testid=${id}] svg path`).first().boundingBox();
      assert.ok(box && box.width > 0 && box.height > 0, `${id} has a visible icon`);
    }
    for (let i = 0; i < 20 && (await page.locator('[data-testid=product-card]').count()) < 12; i++) {
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      await page.waitForTimeout(250);
    }
    await waitForCards(page, 12);
    const pages = reqs.filter((r) => r.path === '/api/products');
    assert.equal(pages.filter((r) => /cursor=/.test(r.search)).length, 2, JSON.stringify(pages));
    assert.equal(new Set(await cardTitles(page)).size, 12, 'no product twice');

    await page.unroute(/\/api\/products\?/);
    const before = reqs.length;
    await page.locator('[data-testid=search]').pressSequentially('tea', { delay: 40 });
    const { body: expected } = await shop.api('/api/products?q=tea&limit=20&lang=en');
    assert.ok(expected.items.length > 0 && expected.items.length < 12);
    await waitForTitles(page, expected.items.map((p) => p.title));
    const searches = reqs.slice(before).filter((r) => r.path === '/api/products');
    assert.deepEqual(
      searches.map((r) => new URLSearchParams(r.search).get('q')),
      ['tea'],
      'one request for the whole word, not one per key',
    );
    await page.locator('[data-testid=search]').fill('zzzz-nothing');
    await page.locator('[data-testid=catalog-empty]').waitFor();
    assert.match(await page.locator('[data-testid=catalog-empty]').innerText(), /nothing matches/i);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('product with variants → cart → checkout with cash → order pending_payment with its contact', async () => {
    const context = await newPhoneContext(browser, { baseURL: shop.url });
    const page = await context.newPage();
    const errors = watchErrors(page);
    const reqs = recordRequests(page);
    const dress = await productWithOption(shop, 'size');
    assert.ok(dress, 'the demo has a product with sizes');

    await page.goto('/');
    await waitForCards(page, 12);
    await page.locator(`[data-testid=product-card][data-product-id="${dress.id}"]`).click();
    await page.waitForURL(`**/product/${dress.id}`);
    await page.locator('[data-testid=product-title]').waitFor();
    assert.equal(await page.locator('[data-testid=product-title]').innerText(), dress.title);

    // Choose the last size; its price and stock show.
    const last = dress.variants[dress.variants.length - 1];
    await page.locator(`[data-testid=option][data-value="${last.options.size}"]`).click();
    await waitForText(page, '[data-testid=variant-price]', new RegExp(last.price.amount_minor / 100 + '|'));
    const price = await page.locator('[data-testid=variant-price]').innerText();
    assert.match(price, /so'm/);
    assert.match(await page.locator('[data-testid=stock]').innerText(), new RegExp(`only ${last.stock} left|in stock`, 'i'));

    // Quantity 2, add to cart.
    await page.locator('[data-testid=qty-inc]').click();
    assert.equal(await page.locator('[data-testid=qty]').innerText(), '2');
    const main = page.locator('[data-testid=main-action]');
    assert.match(await main.innerText(), /add to cart/i);
    await main.click();
    await waitForText(page, '[data-testid=toast]', /added to cart/i);
    await waitForText(page, '[data-testid=cart-count]', /^2$/);
    let cart = (await shop.api('/api/cart', { Authorization: auth })).body;
    assert.deepEqual(cart.items.map((i) => [i.variant_id, i.quantity]), [[last.id, 2]]);
    const put = reqs.find((r) => r.method === 'PUT' && r.path === '/api/cart');
    assert.deepEqual(JSON.parse(put.body), { items: [{ variant_id: last.id, quantity: 2 }] });

    // A Stars product cannot join a so'm cart: the server's message shows.
    const { body: all } = await shop.api('/api/products?limit=50&lang=en');
    const stars = all.items.find((p) => p.variants[0].price.currency === 'XTR');
    await page.goto(`/product/${stars.id}`);
    await page.locator('[data-testid=main-action]').click();
    await waitForText(page, '[data-testid=product-error]', /one currency/i);

    // The cart: change the quantity, see the server's totals.
    await page.locator('[data-testid=cart-link]').click();
    await page.waitForURL('**/cart');
    await page.locator('[data-testid=cart-line]').waitFor();
    const total1 = await page.locator('[data-testid=cart-total]').innerText();
    await page.locator('[data-testid=cart-line] [data-testid=qty-dec]').click();
    await waitForText(page, '[data-testid=cart-line] [data-testid=qty]', /^1$/);
    cart = (await shop.api('/api/cart?lang=en', { Authorization: auth })).body;
    assert.equal(cart.items[0].quantity, 1);
    await page.waitForFunction(
      (t) => document.querySelector('[data-testid=cart-total]')?.textContent !== t,
      total1,
    );
    assert.equal(
      await page.locator('[data-testid=cart-line] [data-testid=line-total]').innerText(),
      await page.locator('[data-testid=cart-total]').innerText(),
    );
    assert.match(await page.locator('[data-testid=main-action]').innerText(), /checkout/i);

    // Checkout: cash, a validated contact form, an idempotent order.
    await page.locator('[data-testid=main-action]').click();
    await page.waitForURL('**/checkout');
    await page.locator('[data-testid=payment-method]').first().waitFor();
    assert.deepEqual(
      await page.locator('[data-testid=payment-method] input').evaluateAll((els) => els.map((e) => e.value)),
      cart.payment_methods,
    );
    await page.locator('[data-testid=main-action]').click();
    await waitForText(page, '[data-testid="contact.name-error"]', /name/i);
    await page.locator('[data-testid="contact.name"]').fill('Aziza Karimova');
    await page.locator('[data-testid="contact.phone"]').fill('12');
    await page.locator('[data-testid=main-action]').click();
    await waitForText(page, '[data-testid="contact.phone-error"]', /7 to 15 digits/);
    await page.locator('[data-testid="contact.phone"]').fill('+998 90 123 45 67');
    await page.locator('[data-testid="contact.address"]').fill('Navoi 12, Tashkent');

    // The server's own field errors show next to their field.
    await page.route('**/api/orders?*', (route) =>
      route.fulfill({
        status: 400,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'invalid_address', message: 'We do not deliver there.', field: 'contact.address' } }),
      }),
      { times: 1 },
    );
    await page.locator('[data-testid=main-action]').click();
    await waitForText(page, '[data-testid="contact.address-error"]', /do not deliver there/);

    // A lost answer, then a retry: the same Idempotency-Key, so one order.
    await page.route('**/api/orders?*', (route) => route.abort('connectionreset'), { times: 1 });
    await page.locator('[data-testid=main-action]').click();
    await page.locator('[data-testid=checkout-error]').waitFor();
    await page.locator('[data-testid=main-action]').dblclick();
    await page.waitForURL(/\/orders\/\d+$/);
    const posts = reqs.filter((r) => r.method === 'POST' && r.path === '/api/orders');
    assert.ok(posts.length >= 3, JSON.stringify(posts));
    const [, aborted, ...retries] = posts;
    assert.ok(aborted.key && retries.every((r) => r.key === aborted.key), 'retries reuse the key');
    assert.notEqual(posts[0].key, aborted.key, 'a rejected request does not pin its key');
    const { body: orders } = await shop.api('/api/orders', { Authorization: auth });
    assert.equal(orders.items.length, 1, 'one order however often it was sent');
    const order = orders.items[0];
    assert.equal(order.status, 'pending_payment');
    assert.equal(order.payment_method, 'cash');

    await page.locator('[data-testid=order-status]').waitFor();
    assert.equal(await page.locator('[data-testid=order-status]').getAttribute('data-status'), 'pending_payment');
    assert.match(await page.locator('[data-testid=order-status]').innerText(), /awaiting payment/i);
    const contact = await page.locator('[data-testid=order-contact]').innerText();
    assert.match(contact, /Aziza Karimova/);
    assert.match(contact, /\+998 90 123 45 67/);
    assert.match(contact, /Navoi 12, Tashkent/);
    assert.ok((await page.locator('[data-testid=event]').count()) >= 1, 'a timeline');
    // No badge any more: the order took the cart.
    await page.waitForFunction(() => !document.querySelector('[data-testid=cart-count]'));

    // History: the order is listed and links back to it.
    await page.locator('[data-testid=orders-link]').click();
    await page.locator(`[data-testid=order-row][data-order-id="${order.id}"]`).waitFor();
    await page.locator(`[data-testid=order-row][data-order-id="${order.id}"] a`).click();
    await page.waitForURL(`**/orders/${order.id}`);

    // Back (the in-page button outside Telegram) walks the history.
    await page.locator('[data-testid=back]').click();
    await page.waitForURL('**/orders');
    assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
    await context.close();
  });

  test('language switch: UI and product texts follow, and the choice stays', async () => {
    const context = await newPhoneContext(browser, { baseURL: shop.url });
    const page = await context.newPage();
    await page.goto('/');
    await waitForCards(page, 12);
    assert.equal(await page.locator('.topbar__title').first().innerText(), 'Catalog');
    await page.locator('[data-testid=lang]').first().selectOption('ru');
    const { body: ru } = await shop.api('/api/products?limit=20&lang=ru');
    await waitForTitles(page, ru.items.map((p) => p.title));
    assert.equal(await page.locator('.topbar__title').first().innerText(), 'Каталог');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'ru');
    await page.reload();
    await waitForTitles(page, ru.items.map((p) => p.title));
    await page.locator('[data-testid=lang]').first().selectOption('uz');
    const { body: uz } = await shop.api('/api/products?limit=20&lang=uz');
    await waitForTitles(page, uz.items.map((p) => p.title));
    assert.equal(await page.locator('.topbar__title').first().innerText(), 'Katalog');
    await context.close();
  });

  test('a deep link (tgWebAppStartParam=product_<id>) opens that product; unknown paths say so', async () => {
    const context = await newPhoneContext(browser, { baseURL: shop.url });
    const page = await context.newPage();
    const { body } = await shop.api('/api/products?limit=20&lang=en');
    const p = body.items[3];
    await page.goto(`/?tgWebAppStartParam=product_${p.id}`);
    await page.waitForURL(`**/product/${p.id}`);
    await waitForText(page, '[data-testid=product-title]', new RegExp(p.title));
    // Back from a deep-linked first page lands on the catalog, not outside the app.
    await page.locator('[data-testid=back]').click();
    await page.waitForURL((u) => u.pathname === '/');
    await waitForCards(page, 12);
    await page.goto('/no/such/page');
    await page.locator('[data-testid=catalog-empty]').waitFor();
    assert.match(await page.locator('.topbar__title').first().innerText(), /not found/i);
    await context.close();
  });

  test('cart: empty state; a line the server flags blocks checkout and says why', async () => {
    const context = await newPhoneContext(browser, { baseURL: shop.url });
    const page = await context.newPage();
    // This dev customer's order took the cart in an earlier test: it is empty now.
    await page.goto('/cart');
    await page.locator('[data-testid=cart-empty]').waitFor();
    assert.match(await page.locator('[data-testid=cart-empty]').innerText(), /your cart is empty/i);
    assert.equal(await page.locator('[data-testid=main-action]').count(), 0, 'nothing to check out');

    // The server's view of a cart whose line has run short (stock changed meanwhile).
    const { body: products } = await shop.api('/api/products?limit=20&lang=en');
    const p = products.items[0];
    const v = p.variants[0];
    const line = {
      variant_id: v.id, product_id: p.id, kind: p.kind, title: p.title, sku: v.sku, options: v.options, quantity: 9,
      unit_price: v.price, line_total: { ...v.price, amount_minor: v.price.amount_minor * 9 },
      stock: 2, available: true, problem: 'Only 2 left.',
    };
    await page.route('**/api/cart?*', (route) =>
      route.fulfill({ json: { items: [line], total: line.line_total, payment_methods: ['cash'] } }),
    );
    await page.reload();
    await page.locator('[data-testid=cart-line]').waitFor();
    assert.equal(await page.locator('[data-testid=line-problem]').innerText(), 'Only 2 left.');
    assert.equal(await page.locator('[data-testid=main-action]').isDisabled(), true);

    // Mixed currencies: no total from the server, a notice instead.
    await page.unroute('**/api/cart?*');
    await page.route('**/api/cart?*', (route) =>
      route.fulfill({ json: { items: [{ ...line, problem: null, quantity: 1 }], total: null, payment_methods: [] } }),
    );
    await page.reload();
    await page.locator('[data-testid=mixed-notice]').waitFor();
    assert.equal(await page.locator('[data-testid=cart-total]').count(), 0);
    assert.equal(await page.locator('[data-testid=main-action]').isDisabled(), true);
    await context.close();
  });
});
