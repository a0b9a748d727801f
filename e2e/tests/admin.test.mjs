// Journey 5: the merchant admin at /admin in headless Chromium, on a desktop (1280×800) and a
// phone (390×844): sign in (a wrong password, then the right one), create a product with a
// variant and an image, find it in the storefront's catalog API, a customer orders it (signed
// initData, cash on delivery), the admin ships, delivers and refunds it (each confirmed), the
// dashboard counts it; repeated wrong passwords lock the account with the server's message.
// Screenshots: e2e/artifacts/admin-{signin,dashboard,products,product,order}-{desktop,phone}.png.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { adminGet as adminApi, newAdminContext as newContext, watchAdminErrors as watchErrors } from '../lib/admin.mjs';
import { PHONE, launchBrowser, screenshot, startShop, imagesLoaded } from '../lib/harness.mjs';
import { makePng } from '../lib/png.mjs';
import { recordRequests, waitForText } from '../lib/shop.mjs';
import { customerInitData } from '../lib/telegram.mjs';

const BOT_TOKEN = '123456789:ADMIN-e2e-token';
const EMAIL = 'owner@shop.test';
const PASSWORD = 'correct horse battery';
const DESKTOP = { width: 1280, height: 800 };

async function signIn(page, password = PASSWORD) {
  await page.locator('[data-testid=email]').fill(EMAIL);
  await page.locator('[data-testid=password]').fill(password);
  await page.locator('[data-testid=sign-in]').click();
}

/** Clicks an order action and confirms it in the dialog. */
async function confirmAction(page, action) {
  await page.locator(`[data-testid=action-${action}]`).click();
  const dialog = page.locator('[data-testid=confirm]');
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /#\d+/);
  await page.locator('[data-testid=confirm-yes]').click();
}

describe('merchant admin', () => {
  let shop;
  let browser;
  let product; // { id, variantId, title }
  let orderId;

  before(async () => {
    shop = await startShop({
      botToken: BOT_TOKEN,
      env: { ADMIN_EMAIL: EMAIL, ADMIN_PASSWORD: PASSWORD, TELEGRAM_API_URL: 'http://127.0.0.1:9' },
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  });

  test('sign in: a wrong password shows the server message, the right one opens the dashboard', async () => {
    const context = await newContext(browser, shop.url, DESKTOP);
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto('/admin/orders');
    await page.waitForURL('**/admin/login');
    await page.locator('[data-testid=sign-in]').waitFor();
    await screenshot(page, 'admin-signin-desktop');

    // Client-side checks first: no request for an empty form.
    const reqs = recordRequests(page);
    await page.locator('[data-testid=sign-in]').click();
    await waitForText(page, '[data-testid=email-error]', /email/i);
    assert.equal(reqs.filter((r) => r.path === '/api/admin/login').length, 0);

    await signIn(page, 'not the password');
    await waitForText(page, '[data-testid=form-error]', /wrong email or password/i);
    assert.equal(reqs.filter((r) => r.path === '/api/admin/login').length, 1);

    await signIn(page);
    await page.waitForURL((u) => u.pathname === '/admin');
    await waitForText(page, '[data-testid=who]', new RegExp(EMAIL));
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.httpOnly);
    assert.ok(session, 'an HttpOnly session cookie');
    assert.equal(session.sameSite, 'Strict');

    // A reload stays signed in (cookie + the CSRF token kept for the tab).
    await page.reload();
    await waitForText(page, '[data-testid=who]', new RegExp(EMAIL));
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('create a product with a variant and an image; the storefront catalog lists it', async () => {
    const context = await newContext(browser, shop.url, DESKTOP);
    const page = await context.newPage();
    const errors = watchErrors(page);
    const reqs = recordRequests(page);
    await page.goto('/admin/products');
    await signIn(page);
    await page.waitForURL('**/admin');
    await page.goto('/admin/products');
    await page.locator('[data-testid=product-row]').first().waitFor();
    await screenshot(page, 'admin-products-desktop');

    await page.locator('[data-testid=new-product]').click();
    await page.waitForURL('**/admin/products/new');
    // Nothing filled in: the client says what is missing, and sends nothing.
    await page.locator('[data-testid=save]').click();
    await waitForText(page, '[data-testid=title-error]', /at least one language/i);
    await waitForText(page, '[data-testid="variants[0].sku-error"]', /sku/i);
    assert.equal(reqs.filter((r) => r.method === 'POST' && r.path === '/api/admin/products').length, 0);

    const title = `Suzani cushion ${Date.now()}`;
    await page.locator('[data-testid=title-en]').fill(title);
    await page.locator('[data-testid=title-ru]').fill('Подушка сюзане');
    await page.locator('[data-testid=description-en]').fill('Hand-embroidered in Bukhara.');
    assert.equal(await page.locator('[data-testid=title-uz-missing]').count(), 1, 'uz is marked missing');
    assert.equal(await page.locator('[data-testid=title-en-missing]').count(), 0);
    const row = page.locator('[data-testid=variant-row]').first();
    const sku = `SUZ-${Date.now()}`;
    await row.locator('[data-testid=sku]').fill(sku);
    await row.locator('[data-testid=options]').fill('size=M, color=red');
    // A price with more digits than the currency has is refused on the client.
    await row.locator('[data-testid=price]').fill('125000.005');
    await row.locator('[data-testid=stock]').fill('7');
    await page.locator('[data-testid=save]').click();
    await waitForText(page, '[data-testid="variants[0].price-error"]', /digits after the point/i);
    await row.locator('[data-testid=price]').fill('125 000');
    await page.locator('[data-testid=save]').click();
    await page.waitForURL(/\/admin\/products\/\d+$/);
    const id = Number(new URL(page.url()).pathname.split('/').pop());
    const created = reqs.find((r) => r.method === 'POST' && r.path === '/api/admin/products');
    const sent = JSON.parse(created.body);
    assert.deepEqual(sent.variants[0].price, { amount_minor: 12_500_000, currency: 'UZS' }, 'major units → tiyin, exactly');
    assert.deepEqual(sent.variants[0].options, { color: 'red', size: 'M' });
    assert.equal(sent.variants[0].stock, 7);

    // The image: a PNG made here, uploaded with progress, shown as a thumbnail.
    await page.locator('[data-testid=image-file]').setInputFiles({
      name: 'cushion.png',
      mimeType: 'image/png',
      buffer: makePng(160, 120),
    });
    await page.locator('[data-testid=image]').first().waitFor();
    await imagesLoaded(page);
    const upload = reqs.find((r) => r.method === 'POST' && r.path === `/api/admin/products/${id}/images`);
    assert.ok(upload, 'the upload went to the images route');

    // The saved product is back in the form, variant included.
    assert.equal(await page.locator('[data-testid=variant-row] [data-testid=sku]').inputValue(), sku);
    assert.equal(await page.locator('[data-testid=variant-row] [data-testid=price]').inputValue(), '125000.00');
    const { body: detail } = await adminApi(page, `/api/admin/products/${id}`);
    assert.equal(detail.images.length, 1);
    product = { id, variantId: detail.variants[0].id, title };
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'admin-product-desktop');

    // The storefront's catalog API has it, with its price, stock and image.
    const { body: catalog } = await shop.api(`/api/products?q=${encodeURIComponent('Suzani')}&lang=en`);
    const listed = catalog.items.find((p) => p.id === id);
    assert.ok(listed, JSON.stringify(catalog.items.map((p) => p.title)));
    assert.equal(listed.title, title);
    assert.equal(listed.variants[0].sku, sku);
    assert.deepEqual(listed.variants[0].price, { amount_minor: 12_500_000, currency: 'UZS' });
    assert.equal(listed.variants[0].stock, 7);
    assert.match(listed.images[0], /^\/media\//);
    const img = await fetch(shop.url + listed.images[0]);
    assert.equal(img.status, 200);
    assert.match(img.headers.get('content-type'), /^image\//);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('one Save sends the whole product in one request; a refused save keeps what was typed', async () => {
    assert.ok(product, 'the product from the previous test');
    const context = await newContext(browser, shop.url, DESKTOP);
    const page = await context.newPage();
    const errors = watchErrors(page, [{ status: 400, path: /\/api\/admin\/products\/\d+$/ }]);
    const reqs = recordRequests(page);
    await page.goto('/admin');
    await signIn(page);
    await page.waitForURL((u) => u.pathname === '/admin');
    await page.goto(`/admin/products/${product.id}`);
    const rows = page.locator('[data-testid=variant-row]');
    await page.waitForFunction(() => document.querySelector('[data-testid=variant-row] [data-testid=sku]')?.value);
    const sku = await rows.first().locator('[data-testid=sku]').inputValue();
    const puts = () => reqs.filter((r) => r.method === 'PUT' && r.path === `/api/admin/products/${product.id}`);
    const saved = () =>
      page.waitForResponse((r) => r.request().method() === 'PUT' && new URL(r.url()).pathname === `/api/admin/products/${product.id}`);

    // A new title language and a second variant whose SKU another product has: the server
    // refuses it, names the field, stores nothing, and the form keeps every input.
    await page.locator('[data-testid=title-uz]').fill('Suzani yostiq');
    await page.locator('[data-testid=add-variant]').click();
    const added = rows.nth(1);
    const { body: others } = await adminApi(page, '/api/admin/products?limit=1');
    const taken = others.items[0].variants[0].sku;
    await added.locator('[data-testid=sku]').fill(taken);
    await added.locator('[data-testid=price]').fill('99000');
    await added.locator('[data-testid=unlimited]').check();
    await Promise.all([saved(), page.locator('[data-testid=save]').click()]);
    await waitForText(page, '[data-testid="variants[1].sku-error"]', /already used/i);
    assert.equal(puts().length, 1, 'one request for the whole product');
    assert.equal(await page.locator('[data-testid=title-uz]').inputValue(), 'Suzani yostiq', 'nothing typed is lost');
    assert.equal(await added.locator('[data-testid=sku]').inputValue(), taken);
    const { body: unchanged } = await adminApi(page, `/api/admin/products/${product.id}`);
    assert.equal(unchanged.variants.length, 1);
    assert.equal(unchanged.texts.title.uz, undefined);

    // Fixed: one more request saves texts and both variants. The first variant's stock was
    // not touched, so it is not sent (orders placed meanwhile keep their units).
    await added.locator('[data-testid=sku]').fill(`${sku}-XL`);
    const [ok] = await Promise.all([saved(), page.locator('[data-testid=save]').click()]);
    assert.equal(ok.status(), 200);
    assert.equal(puts().length, 2);
    const sent = JSON.parse(puts()[1].body);
    assert.equal(sent.variants[0].id, product.variantId);
    assert.equal('stock' in sent.variants[0], false);
    assert.equal(sent.variants[1].id, undefined);
    assert.equal(sent.variants[1].stock, null, 'unlimited');
    const { body: both } = await adminApi(page, `/api/admin/products/${product.id}`);
    assert.equal(both.texts.title.uz, 'Suzani yostiq');
    assert.deepEqual(both.variants.map((v) => v.sku), [sku, `${sku}-XL`]);

    // Taking the new row out and saving removes it (nobody ordered it: deleted).
    await rows.nth(1).locator('[data-testid=remove-variant]').click();
    await Promise.all([saved(), page.locator('[data-testid=save]').click()]);
    const { body: after } = await adminApi(page, `/api/admin/products/${product.id}`);
    assert.deepEqual(after.variants.map((v) => v.id), [product.variantId]);
    assert.equal(reqs.filter((r) => r.path.startsWith('/api/admin/variants/')).length, 0, 'no per-variant calls');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('a customer orders it; the admin ships, delivers and refunds it; the dashboard changes', async () => {
    assert.ok(product, 'the product from the previous test');
    const context = await newContext(browser, shop.url, DESKTOP);
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto('/admin');
    await signIn(page);
    await page.waitForURL((u) => u.pathname === '/admin');
    await page.locator('[data-testid=orders-created]').waitFor();
    const { body: before } = await adminApi(page, '/api/admin/dashboard');
    const sum = (d, k) => d.orders.reduce((a, o) => a + o[k], 0);

    // The customer, authenticated with initData signed by the bot token, pays cash on delivery.
    const res = await fetch(`${shop.url}/api/orders`, {
      method: 'POST',
      headers: {
        Authorization: `tma ${customerInitData(BOT_TOKEN)}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': `e2e-admin-${Date.now()}`,
      },
      body: JSON.stringify({
        items: [{ variant_id: product.variantId, quantity: 2 }],
        payment_method: 'cash',
        contact: { name: 'Dilnoza Rahimova', phone: '+998 90 555 12 34', address: 'Amir Temur 7, Tashkent' },
      }),
    });
    const order = await res.json();
    assert.equal(res.status, 201, JSON.stringify(order));
    orderId = order.id;
    assert.deepEqual(order.total, { amount_minor: 25_000_000, currency: 'UZS' });

    // The orders list shows it; its page has the items, contact and timeline.
    await page.goto('/admin/orders');
    await page.locator(`[data-testid=order-row][data-order-id="${orderId}"]`).waitFor();
    await page.locator(`[data-testid=order-row][data-order-id="${orderId}"] a`).click();
    await page.waitForURL(`**/admin/orders/${orderId}`);
    await waitForText(page, '[data-testid=status]', /awaiting payment/i);
    assert.match(await page.locator('[data-testid=contact]').innerText(), /Dilnoza Rahimova/);
    assert.match(await page.locator('[data-testid=items]').innerText(), new RegExp(product.title));

    // Ship: a dialog first; Cancel there changes nothing.
    await page.locator('[data-testid=action-ship]').click();
    await page.locator('[data-testid=confirm-no]').click();
    assert.equal(await page.locator('[data-testid=confirm]').count(), 0);
    assert.equal((await adminApi(page, `/api/admin/orders/${orderId}`)).body.status, 'pending_payment');
    await confirmAction(page, 'ship');
    await waitForText(page, '[data-testid=status]', /shipped/i);
    await confirmAction(page, 'deliver');
    await waitForText(page, '[data-testid=status]', /delivered/i);
    await page.locator('[data-testid=event]').nth(2).waitFor();
    await screenshot(page, 'admin-order-desktop');

    // Delivered cash is paid revenue: the dashboard shows it per currency, with its chart.
    await page.goto('/admin');
    await page.locator('[data-testid=revenue-chart][data-currency=UZS]').waitFor();
    assert.match(await page.locator('[data-testid=total][data-currency=UZS]').innerText(), /250 000 so'm/);
    assert.ok((await page.locator('[data-testid=revenue-chart] rect').count()) >= 1);
    assert.match(await page.locator('[data-testid=top-products]').innerText(), new RegExp(product.title));
    await screenshot(page, 'admin-dashboard-desktop');

    await page.goto(`/admin/orders/${orderId}`);
    await waitForText(page, '[data-testid=status]', /delivered/i);
    // Refund, with the two units put back on sale (the dialog's checkbox, off by default).
    const stockOf = async () => (await shop.api(`/api/products/${product.id}?lang=en`)).body.variants[0].stock;
    const stockBefore = await stockOf();
    await page.locator('[data-testid=action-refund]').click();
    await page.locator('[data-testid=confirm]').waitFor();
    const option = page.locator('[data-testid=confirm-option]');
    assert.equal(await option.isChecked(), false);
    assert.match(await page.locator('[data-testid=confirm]').innerText(), /back on sale/i);
    await option.check();
    await screenshot(page, 'admin-refund-dialog');
    await page.locator('[data-testid=confirm-yes]').click();
    await waitForText(page, '[data-testid=status]', /refunded/i);
    // The timeline names the restock in words, not by its code.
    await waitForText(page, '[data-testid=event][data-kind=restocked]', /Back in stock/);
    assert.equal(await stockOf(), stockBefore + 2);
    const { body: done } = await adminApi(page, `/api/admin/orders/${orderId}`);
    assert.equal(done.status, 'refunded');
    const kinds = done.events.map((e) => e.status).filter(Boolean);
    for (const s of ['shipped', 'delivered', 'refunded']) assert.ok(kinds.includes(s), JSON.stringify(done.events));
    assert.equal(await page.locator('[data-testid^=action-]').count(), 0, 'nothing left to do');

    // The dashboard counts the new order as created and paid.
    await page.goto('/admin');
    await page.locator('[data-testid=orders-created]').waitFor();
    const { body: afterD } = await adminApi(page, '/api/admin/dashboard');
    assert.equal(sum(afterD, 'created'), sum(before, 'created') + 1);
    assert.equal(sum(afterD, 'paid'), sum(before, 'paid') + 1);
    await waitForText(page, '[data-testid=orders-created] .stat__value', new RegExp(`^${sum(afterD, 'created')}$`));
    await waitForText(page, '[data-testid=orders-paid] .stat__value', new RegExp(`^${sum(afterD, 'paid')}$`));
    assert.equal(await page.locator('[data-testid=orders-chart] polyline').count(), 2);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('on a phone: the menu collapses, tables become cards', async () => {
    assert.ok(product && orderId);
    const context = await newContext(browser, shop.url, PHONE);
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto('/admin');
    await page.locator('[data-testid=sign-in]').waitFor();
    await screenshot(page, 'admin-signin-phone');
    await signIn(page);
    await page.waitForURL((u) => u.pathname === '/admin');
    await page.locator('[data-testid=orders-created]').waitFor();
    // The nav is hidden behind the menu button until opened.
    assert.equal(await page.locator('nav#nav').isVisible(), false);
    await screenshot(page, 'admin-dashboard-phone');
    await page.locator('[data-testid=menu]').click();
    assert.equal(await page.locator('nav#nav').isVisible(), true);
    await page.locator('nav#nav a[href="/admin/products"]').click();
    await page.waitForURL('**/admin/products');
    assert.equal(await page.locator('nav#nav').isVisible(), false, 'closes after navigating');
    await page.locator('[data-testid=product-row]').first().waitFor();
    // Rows are cards: no horizontal scrolling on a 390 px screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    await imagesLoaded(page);
    await screenshot(page, 'admin-products-phone');
    await page.goto(`/admin/products/${product.id}`);
    await page.locator('[data-testid=image]').first().waitFor();
    await imagesLoaded(page);
    await screenshot(page, 'admin-product-phone');
    await page.goto(`/admin/orders/${orderId}`);
    await waitForText(page, '[data-testid=status]', /refunded/i);
    await screenshot(page, 'admin-order-phone');
    const overflow2 = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow2 <= 0, `order page is ${overflow2}px wider than the screen`);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('repeated wrong passwords lock the account, with the server message and a countdown', async () => {
    const context = await newContext(browser, shop.url, DESKTOP);
    const page = await context.newPage();
    await page.goto('/admin/login');
    let locked = false;
    for (let i = 0; i < 8 && !locked; i++) {
      await signIn(page, `wrong-${i}`);
      await page.locator('[data-testid=form-error]').waitFor();
      await page.waitForFunction(() => !document.querySelector('[data-testid=sign-in]')?.getAttribute('aria-busy')?.includes('true'));
      locked = /locked/i.test(await page.locator('[data-testid=form-error]').innerText());
    }
    assert.ok(locked, 'the account locks after repeated failures');
    assert.match(await page.locator('[data-testid=form-error]').innerText(), /locked for \d+ more second/i);
    await waitForText(page, '[data-testid=retry-in]', /try again in \d+ s/i);
    assert.equal(await page.locator('[data-testid=sign-in]').isDisabled(), true, 'no retry before the time');
    // Even the right password is refused while locked (asked directly, past the disabled button).
    const r = await fetch(`${shop.url}/api/admin/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
    });
    assert.equal(r.status, 429);
    await context.close();
  });
});
