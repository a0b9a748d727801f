// Journey 9: promo codes from both sides. The merchant creates a code in the admin's Promo codes
// screen; a customer types a wrong code at checkout and sees the server's refusal next to the
// field with nothing ordered, then the right one: the order carries the discount, its page shows
// the discount line, and the admin's list counts the use and the revenue. Pausing the code in the
// admin stops it at once.
// Screenshots: `admin-promo-codes-{desktop,phone}`, `checkout-promo-error-light`,
// `order-promo-{light,dark}`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { newAdminContext, signInAs, watchAdminErrors } from '../lib/admin.mjs';
import { launchBrowser, newPhoneContext, screenshot, startShop, watchErrors } from '../lib/harness.mjs';
import { waitForText } from '../lib/shop.mjs';
import { THEMES, customerInitData, installTelegramStub, tapMainButton } from '../lib/telegram.mjs';

const BOT_TOKEN = '123456789:PROMO-e2e-token';
const EMAIL = 'owner@promo.example';
const PASSWORD = 'promo-e2e-password';
const USER = 700_900;
const CONTACT = { name: 'Aziz Rahimov', phone: '+998 90 765 43 21', address: 'Tashkent, Navoi 5' };

describe('promo codes', () => {
  let shop;
  let browser;
  let bowl;

  before(async () => {
    shop = await startShop({
      botToken: BOT_TOKEN,
      env: { ADMIN_EMAIL: EMAIL, ADMIN_PASSWORD: PASSWORD, PUBLIC_URL: 'https://shop.example' },
    });
    browser = await launchBrowser();
    const products = (await shop.api('/api/products?limit=50&lang=en')).body.items;
    bowl = products.find((p) => p.title === 'Rishtan bowl');
    assert.ok(bowl, 'demo product Rishtan bowl');
    assert.equal(bowl.variants[0].price.currency, 'UZS');
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  });

  const auth = () => `tma ${customerInitData(BOT_TOKEN, { id: USER, language_code: 'en' })}`;

  async function customerPage(scheme) {
    const context = await newPhoneContext(browser, { baseURL: shop.url, colorScheme: scheme });
    await installTelegramStub(context, {
      initData: customerInitData(BOT_TOKEN, { id: USER, language_code: 'en' }),
      themeParams: THEMES[scheme],
      colorScheme: scheme,
      version: '8.0',
    });
    return { context, page: await context.newPage() };
  }

  async function promoRow(page, code) {
    const row = page.locator(`[data-testid=promo-row][data-code="${code}"]`);
    await row.waitFor();
    return row;
  }

  test('the merchant creates SPRING10 in the admin', async () => {
    const context = await newAdminContext(browser, shop.url, { width: 1280, height: 800 });
    const page = await context.newPage();
    const errors = watchAdminErrors(page);
    await signInAs(page, EMAIL, PASSWORD);
    await page.goto('/admin/promo-codes');
    await page.locator('[data-testid=new-promo]').waitFor();
    await page.locator('[data-testid=empty]').waitFor();
    await page.locator('[data-testid=promo-code]').fill('SPRING10');
    await page.locator('[data-testid=promo-kind]').selectOption('percent');
    await page.locator('[data-testid=promo-value]').fill('10');
    await page.locator('[data-testid=promo-max_uses_per_customer]').fill('1');
    await page.locator('[data-testid=create-promo]').click();
    const row = await promoRow(page, 'SPRING10');
    assert.equal(await row.getAttribute('data-status'), 'Active');
    assert.match(await row.locator('[data-testid=promo-uses]').innerText(), /^0 \/ ∞/);
    await screenshot(page, 'admin-promo-codes-desktop');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('a wrong code is refused next to its field; the right one takes 10 % off', async () => {
    // The cart holds two bowls (through the API, as the product page would put them there).
    const put = await fetch(`${shop.url}/api/cart`, {
      method: 'PUT',
      headers: { Authorization: auth(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ items: [{ variant_id: bowl.variants[0].id, quantity: 2 }] }),
    });
    assert.equal(put.status, 200, await put.text());
    const goods = bowl.variants[0].price.amount_minor * 2;

    const { context, page } = await customerPage('light');
    const errors = watchErrors(page);
    await page.goto('/checkout');
    await page.locator('[data-testid=checkout]').waitFor();
    await page.locator('[data-testid="contact.name"]').fill(CONTACT.name);
    await page.locator('[data-testid="contact.phone"]').fill(CONTACT.phone);
    await page.locator('[data-testid="contact.address"]').fill(CONTACT.address);
    await page.locator('input[name=method][value=cash]').check();
    await page.locator('[data-testid=promo-open]').click();
    const field = page.locator('[data-testid=promo_code]');
    await field.fill('SPRING1O');
    await page.waitForFunction(() => window.Telegram.WebApp.MainButton.isActive);
    await tapMainButton(page);
    // The server's message sits under the field, the field has the focus, nothing was ordered.
    await waitForText(page, '[data-testid=promo_code-error]', /.+/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'promo_code');
    assert.equal(await field.inputValue(), 'SPRING1O', 'what was typed stays');
    const none = await shop.api('/api/orders', { Authorization: auth() });
    assert.equal(none.body.items.length, 0);
    await screenshot(page, 'checkout-promo-error-light');

    await field.fill('spring10');
    await tapMainButton(page);
    await page.waitForURL(/\/orders\/\d+/);
    const id = Number(new URL(page.url()).pathname.split('/').pop());
    await waitForText(page, '[data-testid=order-discount]', /SPRING10/);
    const { body: order } = await shop.api(`/api/orders/${id}`, { Authorization: auth() });
    assert.equal(order.discount.amount_minor, goods / 10);
    assert.equal(order.total.amount_minor, goods - goods / 10);
    assert.equal(order.payment_method, 'cash');
    await screenshot(page, 'order-promo-light');
    assert.deepEqual(errors.filter((e) => !/status of 422/.test(e)), []);
    await context.close();

    const dark = await customerPage('dark');
    await dark.page.goto(`/orders/${id}`);
    await waitForText(dark.page, '[data-testid=order-discount]', /SPRING10/);
    await screenshot(dark.page, 'order-promo-dark');
    await dark.context.close();
  });

  test('the admin counts the use and the revenue, and a paused code is refused', async () => {
    const context = await newAdminContext(browser, shop.url, { width: 390, height: 844 });
    const page = await context.newPage();
    const errors = watchAdminErrors(page);
    await signInAs(page, EMAIL, PASSWORD);
    await page.goto('/admin/promo-codes');
    let row = await promoRow(page, 'SPRING10');
    assert.match(await row.locator('[data-testid=promo-uses]').innerText(), /^1 \/ ∞/);
    // Below the new-code form on a phone.
    await row.scrollIntoViewIfNeeded();
    await screenshot(page, 'admin-promo-codes-phone');
    await row.locator('[data-testid=promo-toggle]').click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid=promo-row][data-code="SPRING10"]')?.dataset.status === 'Paused',
    );
    row = await promoRow(page, 'SPRING10');
    assert.equal(await row.getAttribute('data-status'), 'Paused');
    assert.deepEqual(errors, []);
    await context.close();

    // Another customer, who never used it: a paused code orders nothing.
    const other = `tma ${customerInitData(BOT_TOKEN, { id: USER + 1, language_code: 'en' })}`;
    const res = await fetch(`${shop.url}/api/orders`, {
      method: 'POST',
      headers: { Authorization: other, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        items: [{ variant_id: bowl.variants[0].id, quantity: 1 }],
        payment_method: 'cash',
        contact: CONTACT,
        promo_code: 'SPRING10',
      }),
    });
    assert.equal(res.status, 422);
    assert.equal((await res.json()).error.code, 'promo_code_invalid');
  });
});
