// Journey 8: the checkout paths of Crypto Pay and YooKassa in a stub Telegram, each provider
// played by a small local fake that answers like its API (the backend suites,
// tests/cryptopay.rs and tests/yookassa.rs, check every money rule against fuller fakes).
// - Crypto Pay: the buyer picks "Crypto", places the order, and the invoice's t.me Mini App
//   link opens inside Telegram (openTelegramLink, not openLink, which would leave Telegram).
// - YooKassa: a RUB order opens YooKassa's payment page (openLink); the test follows it in the
//   browser, pays on the fake page, which notifies the shop and redirects back to the order
//   page, and the order page shows the order paid (the shop read the payment back first).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { launchBrowser, newPhoneContext, screenshot, startShop, watchErrors } from '../lib/harness.mjs';
import { THEMES, customerInitData, installTelegramStub, tapMainButton } from '../lib/telegram.mjs';

const BOT_TOKEN = '123456789:RAILS-e2e-token';
const CRYPTOPAY_TOKEN = '4242:AAcryptopay-e2e';
const YK_SHOP = '506751';
const YK_KEY = 'test_e2e-secret';
const EMAIL = 'owner@rails.test';
const PASSWORD = 'correct horse battery staple';

/** Serves `handler(req, body)` on a free local port; answers `{url, close}`. */
async function serve(handler) {
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    try {
      const { status = 200, json, html, headers = {} } = await handler(req, body);
      if (html !== undefined) {
        res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', ...headers });
        res.end(html);
      } else {
        res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
        res.end(JSON.stringify(json ?? {}));
      }
    } catch (e) {
      res.writeHead(500);
      res.end(String(e));
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

/** Crypto Pay: createInvoice as the real API answers it; refuses a wrong token. */
async function fakeCryptoPay() {
  const invoices = [];
  const fake = await serve((req, body) => {
    if (req.headers['crypto-pay-api-token'] !== CRYPTOPAY_TOKEN) {
      return { status: 401, json: { ok: false, error: { code: 401, name: 'UNAUTHORIZED' } } };
    }
    const method = new URL(req.url, 'http://x').pathname.split('/').pop();
    const p = body ? JSON.parse(body) : {};
    if (method === 'createInvoice') {
      const id = invoices.length + 1;
      const hash = `IVe2e${id}`;
      const inv = {
        invoice_id: id, hash, status: 'active', currency_type: p.currency_type, fiat: p.fiat,
        asset: p.asset, amount: p.amount, payload: p.payload, description: p.description,
        bot_invoice_url: `https://t.me/CryptoBot?start=${hash}`,
        mini_app_invoice_url: `https://t.me/CryptoBot/app?startapp=invoice-${hash}&mode=compact`,
        web_app_invoice_url: `https://app.send.tg/invoices/${hash}`,
        created_at: new Date().toISOString(), allow_comments: false, allow_anonymous: true,
      };
      invoices.push(inv);
      return { json: { ok: true, result: inv } };
    }
    if (method === 'getInvoices') return { json: { ok: true, result: { items: [] } } };
    if (method === 'deleteInvoice') return { json: { ok: true, result: true } };
    return { status: 405, json: { ok: false, error: { code: 405, name: 'METHOD_NOT_FOUND' } } };
  });
  return { ...fake, invoices };
}

/** YooKassa: payments with Basic auth and an Idempotence-Key, a payment page that pays, the
 * notification to the shop, and GET /payments/{id} that the shop reads back. */
async function fakeYookassa(shopUrl) {
  const payments = new Map();
  const auth = `Basic ${Buffer.from(`${YK_SHOP}:${YK_KEY}`).toString('base64')}`;
  let base;
  const fake = await serve(async (req, body) => {
    const path = new URL(req.url, 'http://x').pathname;
    const page = path.match(/^\/pay\/(.+)$/);
    if (page) {
      const p = payments.get(page[1]);
      if (!p) return { status: 404, html: 'no such payment' };
      if (req.method === 'GET') {
        return { html: `<!doctype html><meta name=viewport content="width=device-width"><title>YooKassa</title>
          <form method=post><p>Pay ${p.amount.value} ${p.amount.currency}</p><button id=pay>Pay</button></form>` };
      }
      p.status = 'succeeded';
      p.paid = true;
      // YooKassa notifies the shop, then brings the buyer back to the return URL.
      const n = await fetch(`${shopUrl()}/webhooks/yookassa`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ type: 'notification', event: 'payment.succeeded', object: p }),
      });
      assert.equal(n.status, 200, await n.text());
      return { status: 303, html: '', headers: { Location: p.return_url } };
    }
    if (req.headers.authorization !== auth) {
      return { status: 401, json: { type: 'error', code: 'invalid_credentials' } };
    }
    if (req.method === 'POST' && path === '/v3/payments') {
      if (!req.headers['idempotence-key']) return { status: 400, json: { type: 'error', code: 'invalid_request' } };
      const b = JSON.parse(body);
      const id = `2e${payments.size + 1}e2e-000f-5000-9000-1b68e7b15f3f`;
      const p = {
        id, status: 'pending', paid: false, amount: b.amount, description: b.description, metadata: b.metadata,
        confirmation: { type: 'redirect', confirmation_url: `${base}/pay/${id}` },
        created_at: new Date().toISOString(), test: true, refundable: false,
      };
      payments.set(id, { ...p, return_url: b.confirmation.return_url });
      return { json: p };
    }
    const one = path.match(/^\/v3\/payments\/(.+)$/);
    if (req.method === 'GET' && one) {
      const p = payments.get(one[1]);
      if (!p) return { status: 404, json: { type: 'error', code: 'not_found' } };
      const { return_url, ...answer } = p;
      return { json: answer };
    }
    return { status: 404, json: { type: 'error', code: 'not_found' } };
  });
  base = fake.url;
  return { ...fake, payments };
}

describe('Crypto Pay and YooKassa checkouts', () => {
  let shop;
  let browser;
  let cryptopay;
  let yookassa;
  let rubVariant;

  before(async () => {
    cryptopay = await fakeCryptoPay();
    yookassa = await fakeYookassa(() => shop.url);
    shop = await startShop({
      botToken: BOT_TOKEN,
      env: {
        CRYPTOPAY_TOKEN,
        CRYPTOPAY_API_URL: cryptopay.url,
        YOOKASSA_SHOP_ID: YK_SHOP,
        YOOKASSA_SECRET_KEY: YK_KEY,
        YOOKASSA_API_URL: `${yookassa.url}/v3`,
        ADMIN_EMAIL: EMAIL,
        ADMIN_PASSWORD: PASSWORD,
      },
    });
    browser = await launchBrowser();
    // A product priced in roubles, made through the admin API as the admin UI does.
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
        title: { en: 'Tea ceremony course', ru: 'Курс чайной церемонии' },
        variants: [{ sku: 'RUB-COURSE', options: {}, price: { amount_minor: 149_000, currency: 'RUB' }, stock: 5 }],
      }),
    });
    const product = await created.json();
    assert.equal(created.status, 201, JSON.stringify(product));
    rubVariant = product.variants[0].id;
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
    await cryptopay?.close();
    await yookassa?.close();
  });

  async function openCheckout(userId, variantId, quantity = 1) {
    const context = await newPhoneContext(browser, { baseURL: shop.url });
    const initData = customerInitData(BOT_TOKEN, { id: userId, language_code: 'en' });
    await installTelegramStub(context, { initData, themeParams: THEMES.light, colorScheme: 'light' });
    const auth = `tma ${initData}`;
    const put = await fetch(`${shop.url}/api/cart`, {
      method: 'PUT',
      headers: { Authorization: auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ items: [{ variant_id: variantId, quantity }] }),
    });
    assert.equal(put.status, 200, await put.text());
    const page = await context.newPage();
    await page.goto('/checkout');
    await page.locator('[data-testid=checkout]').waitFor();
    return { context, page, auth };
  }

  const tgCalls = (page) => page.evaluate(() => [...window.__tgCalls]);

  test('Crypto Pay: the invoice opens inside Telegram with openTelegramLink', async () => {
    const tea = (await shop.api('/api/products?limit=50&lang=en')).body.items.find((p) => p.title === 'Green tea');
    const { context, page, auth } = await openCheckout(730_001, tea.variants[0].id);
    const errors = watchErrors(page);
    await page.locator('input[name=method][value=cryptopay]').check();
    await page.locator('[data-testid="contact.name"]').fill('Aziz Karimov');
    await page.locator('[data-testid="contact.phone"]').fill('+998 90 111 22 33');
    await page.locator('[data-testid="contact.address"]').fill('Tashkent, Chilonzor 5');
    await screenshot(page, 'checkout-cryptopay-light');
    assert.equal(await tapMainButton(page), true);
    await page.waitForFunction(() => window.__tgCalls.some((c) => c.startsWith('openTelegramLink:')));
    const opened = (await tgCalls(page)).filter((c) => c.startsWith('open'));
    assert.equal(opened.length, 1, opened.join(', '));
    const [inv] = cryptopay.invoices;
    assert.equal(opened[0], `openTelegramLink:${inv.mini_app_invoice_url}`);
    // A fiat invoice for the order's exact sum, converted by Crypto Pay.
    assert.equal(inv.currency_type, 'fiat');
    assert.equal(inv.fiat, 'UZS');
    const { body: orders } = await shop.api('/api/orders', { Authorization: auth });
    assert.equal(orders.items[0].checkout_url, inv.mini_app_invoice_url);
    assert.equal(Number(inv.amount) * 100, orders.items[0].total.amount_minor);
    await page.waitForURL(`**/orders/${orders.items[0].id}`);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('YooKassa: redirect to the payment page and back to a paid order', async () => {
    const { context, page, auth } = await openCheckout(730_002, rubVariant, 2);
    const errors = watchErrors(page);
    const methods = await page.locator('input[name=method]').evaluateAll((els) => els.map((e) => e.value));
    assert.ok(methods.includes('yookassa'), `offered for RUB: ${methods}`);
    await page.locator('input[name=method][value=yookassa]').check();
    assert.equal(await tapMainButton(page), true);
    await page.waitForFunction(() => window.__tgCalls.some((c) => c.startsWith('openLink:')));
    const link = (await tgCalls(page)).find((c) => c.startsWith('openLink:')).slice('openLink:'.length);
    const [payment] = [...yookassa.payments.values()];
    assert.equal(link, payment.confirmation.confirmation_url);
    assert.deepEqual(payment.amount, { value: '2980.00', currency: 'RUB' });
    const { body: orders } = await shop.api('/api/orders', { Authorization: auth });
    const order = orders.items[0];
    assert.equal(order.status, 'pending_payment');
    assert.equal(payment.return_url, `${shop.url}/orders/${order.id}?paid=yookassa`);

    // The buyer pays on YooKassa's page and comes back to the order.
    await page.goto(link);
    await page.locator('#pay').click();
    await page.waitForURL(`**/orders/${order.id}?paid=yookassa`);
    await page.locator('[data-testid=order-status][data-status=paid]').waitFor({ timeout: 20_000 });
    await screenshot(page, 'order-yookassa-paid-light');
    const { body: after } = await shop.api(`/api/orders/${order.id}`, { Authorization: auth });
    assert.equal(after.status, 'paid');
    assert.deepEqual(errors, []);
    await context.close();
  });
});
