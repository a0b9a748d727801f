// Delivery methods end to end: the merchant creates a courier method with two zones and a
// pickup point in the admin; a customer (dev mode, phone) picks a zone at checkout, sees the
// fee line and the total change, pays cash, and the order page shows the delivery line; in
// dark, pickup hides the address field, shows the point's address and costs nothing.
// Screenshots: e2e/artifacts/delivery-{admin-desktop,checkout-light,order-light,checkout-dark,order-dark}.png.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { seriousViolations } from '../lib/a11y.mjs';
import { adminGet, newAdminContext, signInAs, watchAdminErrors } from '../lib/admin.mjs';
import { launchBrowser, newPhoneContext, screenshot, startShop, watchErrors } from '../lib/harness.mjs';
import { waitForText } from '../lib/shop.mjs';

const EMAIL = 'owner@shop.test';
const PASSWORD = 'correct horse battery';
const DESKTOP = { width: 1280, height: 800 };

describe('delivery methods and fees', () => {
  let shop;
  let browser;
  let auth;
  let teapot; // { variantId, price }

  before(async () => {
    shop = await startShop({ env: { ADMIN_EMAIL: EMAIL, ADMIN_PASSWORD: PASSWORD } });
    browser = await launchBrowser();
    auth = `tma ${(await shop.api('/api/dev/init-data')).body.init_data}`;
    const { body } = await shop.api('/api/products?q=teapot&lang=en');
    const { body: p } = await shop.api(`/api/products/${body.items[0].id}?lang=en`);
    teapot = { variantId: p.variants[0].id, price: p.variants[0].price.amount_minor };
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  });

  async function cartOfOneTeapot() {
    const r = await fetch(`${shop.url}/api/cart`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ items: [{ variant_id: teapot.variantId, quantity: 1 }] }),
    });
    assert.equal(r.status, 200);
  }

  async function orderOf(id) {
    return (await shop.api(`/api/orders/${id}?lang=en`, { Authorization: auth })).body;
  }

  test('the admin creates a courier method with two zones and a pickup point', async () => {
    const context = await newAdminContext(browser, shop.url, DESKTOP);
    const page = await context.newPage();
    const errors = watchAdminErrors(page);
    await signInAs(page, EMAIL, PASSWORD);
    await page.goto('/admin/delivery');
    await page.locator('[data-testid=delivery-form]').waitFor();
    await page.locator('[data-testid=empty]').waitFor();

    // A courier by zone: the city at the method's fee, the region at its own.
    await page.locator('[data-testid=delivery-title-en]').fill('Courier');
    await page.locator('[data-testid=delivery-fee]').fill('20000');
    await page.locator('[data-testid=delivery-add-option]').click();
    await page.locator('[data-testid=delivery-add-option]').click();
    await page.locator('[data-testid=delivery-options-0--title-en]').fill('Tashkent city');
    await page.locator('[data-testid=delivery-options-1--title-en]').fill('Tashkent region');
    await page.locator('[data-testid=delivery-option-fee-1]').fill('35000');
    await page.locator('[data-testid=delivery-save]').click();
    await page.locator('[data-testid=delivery-row]').first().waitFor();

    // A pickup point needs its address: the server's message shows next to the field.
    await page.locator('[data-testid=delivery-kind]').selectOption('pickup');
    await page.locator('[data-testid=delivery-title-en]').fill('Pickup');
    await page.locator('[data-testid=delivery-fee]').fill('0');
    await page.locator('[data-testid=delivery-add-option]').click();
    await page.locator('[data-testid=delivery-options-0--title-en]').fill('Chorsu shop');
    await page.locator('[data-testid=delivery-save]').click();
    await waitForText(page, '[data-testid="options[0].address-error"]', /address/i);
    await page.locator('[data-testid=delivery-options-0--address]').fill('Tashkent, Chorsu bazaar, row 4');
    await page.locator('[data-testid=delivery-save]').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=delivery-row]').length === 2);

    const { body: methods } = await adminGet(page, '/api/admin/delivery-methods');
    assert.equal(methods.length, 2);
    const [courier, pickup] = methods;
    assert.equal(courier.kind, 'courier');
    assert.equal(courier.fee.amount_minor, 2_000_000);
    assert.deepEqual(
      courier.options.map((o) => [o.title.en, o.fee?.amount_minor ?? null]),
      [['Tashkent city', null], ['Tashkent region', 3_500_000]],
    );
    assert.equal(pickup.kind, 'pickup');
    assert.equal(pickup.options[0].address, 'Tashkent, Chorsu bazaar, row 4');
    await screenshot(page, 'delivery-admin-desktop');
    assert.deepEqual(errors.filter((e) => !/status of 400/.test(e)), []);
    await context.close();
  });

  test('the customer picks a zone, sees the fee and the total, pays cash; the order shows the delivery', async () => {
    await cartOfOneTeapot();
    const { body: offered } = await shop.api('/api/delivery-methods?currency=UZS&lang=en', { Authorization: auth });
    const region = offered[0].options[1];
    const context = await newPhoneContext(browser, { baseURL: shop.url });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto('/checkout');
    await page.locator('[data-testid=delivery-method]').first().waitFor();
    assert.equal(await page.locator('[data-testid=delivery-method]').count(), 2);
    const totalBefore = await page.locator('[data-testid=checkout-total]').innerText();
    // The first method is preselected; it has zones, so a zone is asked for.
    await page.locator('[data-testid=delivery-option]').selectOption(String(region.id));
    await waitForText(page, '[data-testid=checkout-delivery]', /35\s?000/);
    await page.waitForFunction(
      (t) => document.querySelector('[data-testid=checkout-total]')?.textContent !== t,
      totalBefore,
    );
    const shown = (await page.locator('[data-testid=checkout-total]').innerText()).replace(/\D/g, '');
    assert.equal(shown, String((teapot.price + 3_500_000) / 100));
    await page.locator('[data-testid=payment-method] input[value=cash]').check();
    await page.locator('[data-testid="contact.name"]').fill('Aziza Karimova');
    await page.locator('[data-testid="contact.phone"]').fill('+998 90 123 45 67');
    await page.locator('[data-testid="contact.address"]').fill('Navoi 12, Tashkent');
    await screenshot(page, 'delivery-checkout-light');
    assert.deepEqual(await seriousViolations(page), [], 'the delivery choices are accessible (light)');
    await page.locator('[data-testid=main-action]').click();
    await page.waitForURL(/\/orders\/\d+$/);
    const id = Number(new URL(page.url()).pathname.split('/').pop());
    const order = await orderOf(id);
    assert.equal(order.total.amount_minor, teapot.price + 3_500_000);
    assert.deepEqual(order.delivery, {
      kind: 'courier', method: 'Courier', option: 'Tashkent region',
      fee: { amount_minor: 3_500_000, currency: 'UZS' },
    });
    await waitForText(page, '[data-testid=order-delivery]', /Courier · Tashkent region/);
    assert.match(await page.locator('[data-testid=order-delivery]').innerText(), /35\s?000/);
    await screenshot(page, 'delivery-order-light');
    assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
    await context.close();
  });

  test('pickup (dark): no address field, the point and its address, no fee', async () => {
    await cartOfOneTeapot();
    const context = await newPhoneContext(browser, { baseURL: shop.url, colorScheme: 'dark' });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto('/checkout');
    await page.locator('[data-testid=delivery-method]').nth(1).waitFor();
    // The last method used (the courier) comes back preselected; the customer takes pickup.
    await page.locator('[data-testid=delivery-method]').nth(1).locator('input').check();
    await waitForText(page, '[data-testid=pickup-address]', /Chorsu bazaar, row 4/);
    assert.equal(await page.locator('[data-testid="contact.address"]').count(), 0, 'no address to type');
    await waitForText(page, '[data-testid=checkout-delivery]', /free/i);
    await page.locator('[data-testid=payment-method] input[value=cash]').check();
    // The contact of the last order comes back; a pickup needs only name and phone.
    await page.waitForFunction(() => document.querySelector('[data-testid="contact.name"]')?.value === 'Aziza Karimova');
    await screenshot(page, 'delivery-checkout-dark');
    assert.deepEqual(await seriousViolations(page), [], 'the delivery choices are accessible (dark)');
    await page.locator('[data-testid=main-action]').click();
    await page.waitForURL(/\/orders\/\d+$/);
    const id = Number(new URL(page.url()).pathname.split('/').pop());
    const order = await orderOf(id);
    assert.equal(order.total.amount_minor, teapot.price);
    assert.equal(order.delivery.kind, 'pickup');
    assert.equal(order.delivery.address, 'Tashkent, Chorsu bazaar, row 4');
    await waitForText(page, '[data-testid=order-delivery]', /Pickup · Chorsu shop/);
    assert.match(await page.locator('[data-testid=order-delivery]').innerText(), /Chorsu bazaar/);
    await screenshot(page, 'delivery-order-dark');
    assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
    await context.close();
  });
});
