// Journey 7: a TON-priced product paid on-chain. The shop runs with a bot token and TON_WALLET
// (its toncenter is never reached: the wallet is read once an hour here, and what a payment does
// is the backend suite's, tests/ton.rs). Inside a stub Telegram, the buyer orders a product
// priced in TON and the order page shows what they need: the Tonkeeper link (https, which
// Telegram opens) and the ton:// link, the amount, address and comment to copy, and the QR.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, newPhoneContext, screenshot, startShop, watchErrors } from '../lib/harness.mjs';
import { THEMES, customerInitData, installTelegramStub, tapMainButton } from '../lib/telegram.mjs';

const BOT_TOKEN = '123456789:TON-e2e-token';
const WALLET = 'UQDKbjIcfM6ezt8KjKJJLshZJJSqX7XOA4ff-W72r5gqPuwA';
const EMAIL = 'owner@ton.test';
const PASSWORD = 'correct horse battery staple';

describe('paying on TON', () => {
  let shop;
  let browser;
  let variantId;

  before(async () => {
    shop = await startShop({
      botToken: BOT_TOKEN,
      env: {
        TON_WALLET: WALLET,
        TONCENTER_API_URL: 'http://127.0.0.1:9/api/v3',
        TON_POLL_SECS: '3600',
        ADMIN_EMAIL: EMAIL,
        ADMIN_PASSWORD: PASSWORD,
      },
    });
    browser = await launchBrowser();
    // The merchant prices a hoodie in TON (through the admin API, as the admin UI does).
    const login = await fetch(`${shop.url}/api/admin/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
    });
    assert.equal(login.status, 200);
    const { csrf_token } = await login.json();
    const cookie = login.headers.get('set-cookie').split(';')[0];
    const created = await fetch(`${shop.url}/api/admin/products`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf_token, Cookie: cookie },
      body: JSON.stringify({
        kind: 'digital',
        title: { en: 'TON hoodie (digital twin)' },
        variants: [{ sku: 'TON-HOODIE', options: {}, price: { amount_minor: 1_500_000_000, currency: 'TON' }, stock: 5 }],
      }),
    });
    const product = await created.json();
    assert.equal(created.status, 201, JSON.stringify(product));
    variantId = product.variants[0].id;
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  });

  test('the order page shows the wallet links, the values to copy and the QR', async () => {
    const context = await newPhoneContext(browser, { baseURL: shop.url });
    const initData = customerInitData(BOT_TOKEN, { id: 720_001, first_name: 'Toncoin' });
    await installTelegramStub(context, { initData, themeParams: THEMES.light, colorScheme: 'light' });
    const page = await context.newPage();
    const errors = watchErrors(page);
    // The order, placed the way checkout places it.
    const res = await fetch(`${shop.url}/api/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `tma ${initData}`, 'Idempotency-Key': 'e2e-ton-1' },
      body: JSON.stringify({ items: [{ variant_id: variantId, quantity: 1 }], payment_method: 'ton' }),
    });
    const order = await res.json();
    assert.equal(res.status, 201, JSON.stringify(order));
    const comment = order.ton.comment;
    assert.equal(order.checkout_url, `ton://transfer/${WALLET}?amount=1500000000&text=${comment}`);

    await page.goto(`/orders/${order.id}`);
    await page.locator('[data-testid=ton-pay]').waitFor();
    assert.equal(await page.locator('[data-testid=ton-link]').getAttribute('href'), order.checkout_url);
    assert.match(
      await page.locator('[data-testid=tonkeeper-link]').getAttribute('href'),
      new RegExp(`^https://app\\.tonkeeper\\.com/transfer/${WALLET}\\?amount=1500000000&text=${comment}`),
    );
    assert.equal((await page.locator('[data-testid=ton-amount]').innerText()).trim(), '1.500000000 TON');
    assert.equal((await page.locator('[data-testid=ton-address]').innerText()).trim(), WALLET);
    assert.equal((await page.locator('[data-testid=ton-comment]').innerText()).trim(), comment);
    // The QR is drawn and visible.
    const qr = page.locator('[data-testid=ton-qr] svg');
    await qr.waitFor();
    const box = await qr.boundingBox();
    assert.ok(box && box.width >= 150 && box.height >= 150, JSON.stringify(box));
    // The waiting state: the order page says it is checking for the payment.
    await page.locator("[data-testid=order-note][data-state=checking]").waitFor();

    // Inside Telegram, the Tonkeeper link goes through openLink (https), not ton://.
    await page.locator('[data-testid=tonkeeper-link]').click();
    await page.waitForFunction(() => window.__tgCalls.some((c) => c.startsWith('openLink:https://app.tonkeeper.com/')));
    // So does the MainButton's Pay.
    const before = await page.evaluate(() => window.__tgCalls.filter((c) => c.startsWith('openLink:')).length);
    assert.equal(await tapMainButton(page), true);
    await page.waitForFunction((n) => window.__tgCalls.filter((c) => c.startsWith('openLink:')).length > n, before);

    await screenshot(page, 'ton-order-light');
    assert.deepEqual(errors, []);
    await context.close();
  });
});
