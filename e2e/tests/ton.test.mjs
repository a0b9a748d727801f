// Journey 7: a TON-priced product paid on-chain. The shop runs with a bot token and TON_WALLET,
// reading its wallet every second from a fake toncenter (lib/fake-toncenter.mjs; the edge cases
// of what a transfer does are the backend suite's, tests/ton.rs). Inside a stub Telegram, the
// buyer orders a product priced in TON and the order page shows what they need: the Tonkeeper
// link (https, which Telegram opens) and the ton:// link, the amount, address and comment to
// copy, and the QR. In the admin's TON screen a transfer whose comment names no order is listed,
// the merchant attaches it to the order it was meant for, and that order is paid.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { adminGet, cutOff, horizontalOverflow, newAdminContext, signInAs, watchAdminErrors } from '../lib/admin.mjs';
import { startFakeToncenter } from '../lib/fake-toncenter.mjs';
import { PHONE, launchBrowser, newPhoneContext, screenshot, startShop, watchErrors } from '../lib/harness.mjs';
import { THEMES, customerInitData, installTelegramStub, tapMainButton } from '../lib/telegram.mjs';

const BOT_TOKEN = '123456789:TON-e2e-token';
const WALLET = 'UQDKbjIcfM6ezt8KjKJJLshZJJSqX7XOA4ff-W72r5gqPuwA';
const EMAIL = 'owner@ton.test';
const PASSWORD = 'correct horse battery staple';

describe('paying on TON', () => {
  let shop;
  let browser;
  let variantId;
  let toncenter;

  before(async () => {
    toncenter = await startFakeToncenter(WALLET);
    shop = await startShop({
      botToken: BOT_TOKEN,
      env: {
        TON_WALLET: WALLET,
        TONCENTER_API_URL: toncenter.url,
        TON_POLL_SECS: '1',
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
    await toncenter?.close();
  });

  /** A `ton` order of one hoodie placed by customer `id`, the way checkout places it. */
  async function tonOrder(id, key) {
    const initData = customerInitData(BOT_TOKEN, { id, first_name: 'Toncoin' });
    const res = await fetch(`${shop.url}/api/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `tma ${initData}`, 'Idempotency-Key': key },
      body: JSON.stringify({ items: [{ variant_id: variantId, quantity: 1 }], payment_method: 'ton' }),
    });
    const order = await res.json();
    assert.equal(res.status, 201, JSON.stringify(order));
    return { order, initData };
  }

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

  test('the merchant attaches an unmatched transfer to its order in the admin, which pays it', async () => {
    const { order, initData } = await tonOrder(720_002, 'e2e-ton-attach');
    // The buyer paid the right amount but wrote their own words as the comment; another
    // stranger's transfer stays unmatched beside it.
    const hash = toncenter.payTon(1_500_000_000, 'hoodie for Aziz');
    toncenter.payTon(250_000_000, 'thanks!');

    const context = await newAdminContext(browser, shop.url, { width: 1280, height: 800 });
    const page = await context.newPage();
    const errors = watchAdminErrors(page);
    await signInAs(page, EMAIL, PASSWORD);
    // The shop reads the wallet every second: wait until it has counted both.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const listed = await adminGet(page, '/api/admin/ton/transfers?state=unmatched');
      assert.equal(listed.status, 200);
      if (listed.body.items.length === 2) break;
      assert.ok(Date.now() < deadline, `the shop did not count the transfers: ${toncenter.requests.length} reads`);
      await new Promise((r) => setTimeout(r, 250));
    }

    await page.goto('/admin/ton');
    const rows = page.locator('[data-testid=ton-row]');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 2);
    const row = page.locator('[data-testid=ton-row][data-state=unmatched]', { hasText: 'hoodie for Aziz' });
    await row.waitFor();
    const transferId = await row.getAttribute('data-id');
    assert.match(await row.innerText(), /1\.5/);
    // The explorer link is the transaction's (hex of its hash).
    assert.equal(
      await row.locator('a').first().getAttribute('href'),
      `https://tonviewer.com/transaction/${Buffer.from(hash, 'base64').toString('hex')}`,
    );
    // Unmatched money is all owed back until it is attached.
    assert.match(await row.locator('td').nth(5).innerText(), /1\.5/);
    // A bad order number is refused in the page, naming what to type.
    await row.locator('[data-testid=ton-attach-order]').fill('hoodie');
    await row.locator('[data-testid=ton-attach]').click();
    await page.locator('.form-error[role=alert]').waitFor();
    // The merchant types the order's number (as shown in the admin, with its #) and attaches.
    await row.locator('[data-testid=ton-attach-order]').fill(`#${order.id}`);
    await row.locator('[data-testid=ton-attach]').click();
    const paidRow = page.locator(`[data-testid=ton-row][data-id="${transferId}"][data-state=paid]`);
    await paidRow.waitFor();
    assert.match(await paidRow.innerText(), new RegExp(`#${order.id}`));
    assert.equal(await paidRow.locator('[data-testid=ton-attach]').count(), 0);
    // The other transfer is still there to attach or return.
    await page.locator('[data-testid=ton-row][data-state=unmatched]', { hasText: 'thanks!' }).waitFor();
    await screenshot(page, 'admin-ton-desktop');

    // The order is paid, for the merchant and for the buyer.
    const admin = await adminGet(page, `/api/admin/orders/${order.id}`);
    assert.equal(admin.status, 200);
    assert.equal(admin.body.status, 'paid');
    assert.equal(admin.body.ton_transfers.length, 1);
    assert.equal(admin.body.ton_transfers[0].state, 'paid');
    assert.equal(admin.body.payments[0].rail, 'ton');
    assert.equal(admin.body.payments[0].amount.amount_minor, 1_500_000_000);
    const mine = await shop.api(`/api/orders/${order.id}`, { Authorization: `tma ${initData}` });
    assert.equal(mine.body.status, 'paid');
    assert.equal(mine.body.ton_transfers, undefined);

    // The order's page in the admin shows the payment and the transfer that made it.
    await page.goto(`/admin/orders/${order.id}`);
    await page.locator('[data-testid=order-money]').waitFor();
    const payment = page.locator('[data-testid=payment][data-rail=ton]');
    await payment.waitFor();
    assert.match(await payment.innerText(), /1\.5/);
    assert.equal(await payment.getAttribute('data-needs-refund'), 'false');
    await page.locator('[data-testid=order-ton-transfer][data-state=paid]').waitFor();
    assert.ok((await page.locator('[data-testid=timeline]').innerText()).includes('Paid'));
    assert.deepEqual(errors, []);
    await context.close();

    // On a phone: the same screen as cards, nothing wider than the screen or cut off.
    const phone = await newAdminContext(browser, shop.url, PHONE);
    const p = await phone.newPage();
    const phoneErrors = watchAdminErrors(p);
    await signInAs(p, EMAIL, PASSWORD);
    await p.goto('/admin/ton');
    await p.locator('[data-testid=ton-row][data-state=unmatched]').waitFor();
    assert.ok((await horizontalOverflow(p)) <= 0, 'the TON screen scrolls sideways on a phone');
    assert.deepEqual(await cutOff(p), [], 'the TON screen is cut off on a phone');
    await screenshot(p, 'admin-ton-phone');
    await p.goto(`/admin/orders/${order.id}`);
    await p.locator('[data-testid=order-ton-transfer]').waitFor();
    assert.ok((await horizontalOverflow(p)) <= 0, 'the order page scrolls sideways on a phone');
    assert.deepEqual(await cutOff(p), [], 'the order page is cut off on a phone');
    await p.locator('[data-testid=order-money]').scrollIntoViewIfNeeded();
    await screenshot(p, 'admin-order-ton-phone');
    assert.deepEqual(phoneErrors, []);
    await phone.close();
  });
});
