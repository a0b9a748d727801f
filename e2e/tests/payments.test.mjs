// Journey 6: paying for real, against the backend's own rails. The shop runs with a bot token
// whose Bot API is a fake served by this test (lib/fake-bot-api.mjs, strict where Telegram is),
// in webhook mode, and with Click configured. The test plays Telegram (pre_checkout_query and
// successful_payment updates to POST /webhooks/telegram, with the secret header) and Click
// (signed Prepare and Complete), the way those services call the shop; nothing about the
// orders is stubbed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { seriousViolations } from '../lib/a11y.mjs';
import { clickCall } from '../lib/click.mjs';
import { startFakeBotApi } from '../lib/fake-bot-api.mjs';
import { launchBrowser, newPhoneContext, screenshot, startShop, watchErrors } from '../lib/harness.mjs';
import { recordRequests, waitForText } from '../lib/shop.mjs';
import {
  THEMES,
  closeInvoice,
  customerInitData,
  installTelegramStub,
  mainButton,
  tapMainButton,
  tapSecondaryButton,
} from '../lib/telegram.mjs';

const BOT_TOKEN = '123456789:PAY-e2e-token';
const WEBHOOK_SECRET = 'e2e-Webhook_secret-1';
const CLICK = { serviceId: '40001', merchantId: '30001', secret: 'click-e2e-secret' };

describe('paying through the real rails', () => {
  let shop;
  let bot;
  let browser;
  let products;
  let nextUpdate = 5000;

  before(async () => {
    bot = await startFakeBotApi(BOT_TOKEN);
    shop = await startShop({
      botToken: BOT_TOKEN,
      env: {
        TELEGRAM_API_URL: bot.url,
        TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
        // https: webhook mode (setWebhook at start, no long polling), as deployed.
        PUBLIC_URL: 'https://shop.example',
        CLICK_SERVICE_ID: CLICK.serviceId,
        CLICK_MERCHANT_ID: CLICK.merchantId,
        CLICK_SECRET_KEY: CLICK.secret,
      },
    });
    browser = await launchBrowser();
    products = (await shop.api('/api/products?limit=50&lang=en')).body.items;
    // The bot set itself up against the fake: the webhook with its secret.
    const hook = await bot.waitFor('setWebhook');
    assert.equal(hook.url, 'https://shop.example/webhooks/telegram');
    assert.equal(hook.secret_token, WEBHOOK_SECRET);
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
    await bot?.stop();
  });

  const product = (title) => {
    const p = products.find((p) => p.title === title);
    assert.ok(p, `demo product ${title}`);
    return p;
  };

  async function open(userId, invoiceStatus = 'hold', scheme = 'light') {
    const context = await newPhoneContext(browser, { baseURL: shop.url, colorScheme: scheme });
    const initData = customerInitData(BOT_TOKEN, { id: userId, first_name: 'Payer' });
    await installTelegramStub(context, {
      initData,
      themeParams: THEMES[scheme],
      colorScheme: scheme,
      invoiceStatus,
    });
    const page = await context.newPage();
    return { context, page, auth: `tma ${initData}` };
  }

  const tgCalls = (page) => page.evaluate(() => [...window.__tgCalls]);

  /** Waits for the app to call `openInvoice`/`openLink` (the nth time); answers the URL. */
  async function opened(page, what, n = 1) {
    await page.waitForFunction(
      ({ what, n }) => window.__tgCalls.filter((c) => c.startsWith(`${what}:`)).length >= n,
      { what, n },
    );
    const urls = (await tgCalls(page)).filter((c) => c.startsWith(`${what}:`));
    return urls[n - 1].slice(what.length + 1);
  }

  async function addToCart(page, p) {
    await page.goto(`/product/${p.id}`);
    await page.locator('[data-testid=product-title]').waitFor();
    // A Stars item's MainButton is "Buy now" (storefront-flow.test.mjs); "Add to cart" is then
    // the SecondaryButton. These journeys go through the cart and checkout.
    await page.waitForFunction(() => window.Telegram.WebApp.MainButton.isVisible);
    const buyNow = /buy now/i.test((await mainButton(page)).text);
    assert.equal(await (buyNow ? tapSecondaryButton(page) : tapMainButton(page)), true);
    await waitForText(page, '[data-testid=cart-count]', /^1$/);
  }

  /** Telegram delivering an update to the shop's webhook. */
  async function deliver(update) {
    const res = await fetch(`${shop.url}/webhooks/telegram`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': WEBHOOK_SECRET },
      body: JSON.stringify(update),
    });
    assert.equal(res.status, 200, await res.text());
  }

  const orderOf = async (auth, id) => (await shop.api(`/api/orders/${id}`, { Authorization: auth })).body;
  const paidEvents = (order) => order.events.filter((e) => e.status === 'paid');
  const messagesTo = (chat) => bot.of('sendMessage').filter((m) => m.chat_id === chat);

  async function orderStatus(page, status) {
    await page.waitForFunction(
      (s) => document.querySelector('[data-testid=order-status]')?.dataset.status === s,
      status,
      { timeout: 15_000 },
    );
  }

  test('Stars: a digital item paid in the invoice, confirmed by the bot updates, fulfilled once', async () => {
    const user = 610_001;
    const { context, page, auth } = await open(user);
    const errors = watchErrors(page);
    const reqs = recordRequests(page);
    const plov = product('Plov recipe book (PDF)');
    assert.equal(plov.kind, 'digital');
    await addToCart(page, plov);

    const before = reqs.length;
    await page.goto('/checkout');
    await page.locator('[data-testid=checkout]').waitFor();
    // Digital goods: no delivery form, and the page knew it from the cart alone.
    assert.equal(await page.locator('[data-testid="contact.name"]').count(), 0);
    assert.deepEqual(
      reqs.slice(before).filter((r) => r.path.startsWith('/api/products/')),
      [],
      'checkout fetched no product',
    );
    assert.deepEqual(await page.locator('[data-testid=payment-method] input').evaluateAll((els) => els.map((e) => e.value)), ['stars']);
    assert.match((await mainButton(page)).text, /place order/i);
    await tapMainButton(page);

    // The shop created a real Stars invoice through the Bot API; the app opened its link.
    const link = await opened(page, 'openInvoice');
    const invoice = bot.invoice(link);
    assert.ok(invoice, `the app opened ${link}, which the shop got from createInvoiceLink`);
    assert.equal(invoice.currency, 'XTR');
    assert.equal(invoice.provider_token, '');
    const price = plov.variants[0].price.amount_minor;
    assert.deepEqual(invoice.prices.map((p) => p.amount), [price]);
    const { body: list } = await shop.api('/api/orders', { Authorization: auth });
    assert.equal(list.items.length, 1);
    const id = list.items[0].id;
    const placed = await orderOf(auth, id);
    assert.equal(placed.status, 'pending_payment');
    assert.equal(placed.payment_method, 'stars');
    assert.equal(placed.invoice_link, link);
    assert.deepEqual(placed.total, { amount_minor: price, currency: 'XTR' });
    assert.equal(invoice.payload.split('.')[0], String(id), 'the payload names the order (and is signed)');

    // Telegram asks the bot before taking the Stars…
    await deliver({
      update_id: nextUpdate++,
      pre_checkout_query: {
        id: 'pcq-e2e-1',
        from: { id: user, is_bot: false, first_name: 'Payer', language_code: 'en' },
        currency: 'XTR',
        total_amount: price,
        invoice_payload: invoice.payload,
      },
    });
    const answer = await bot.waitFor('answerPreCheckoutQuery', (b) => b.pre_checkout_query_id === 'pcq-e2e-1');
    assert.equal(answer.ok, true, JSON.stringify(answer));

    // …the invoice closes as paid before the bot has heard of the payment: the order page
    // says it is being checked.
    await closeInvoice(page, 'paid');
    await page.waitForURL(`**/orders/${id}`);
    await waitForText(page, '[data-testid=toast]', /payment received/i);
    await orderStatus(page, 'pending_payment');
    assert.equal(await page.locator('[data-testid=order-note]').getAttribute('data-state'), 'checking');

    // Then the successful_payment update, which Telegram may deliver more than once.
    const payment = {
      update_id: nextUpdate++,
      message: {
        message_id: 77,
        date: Math.floor(Date.now() / 1000),
        from: { id: user, is_bot: false, first_name: 'Payer' },
        chat: { id: user, type: 'private' },
        successful_payment: {
          currency: 'XTR',
          total_amount: price,
          invoice_payload: invoice.payload,
          telegram_payment_charge_id: 'stars-e2e-charge-1',
          provider_payment_charge_id: '',
        },
      },
    };
    await deliver(payment);
    await deliver(payment);
    await deliver({ ...payment, update_id: nextUpdate++ });

    // The page, polling, shows it paid.
    await orderStatus(page, 'paid');
    assert.equal(await page.locator('[data-testid=order-note]').getAttribute('data-state'), 'paid');
    assert.match((await mainButton(page)).text, /continue shopping/i);

    // Fulfilled exactly once: one paid event, one confirmation message in the chat.
    const order = await orderOf(auth, id);
    assert.equal(order.status, 'paid');
    assert.equal(paidEvents(order).length, 1, JSON.stringify(order.events));
    await bot.waitFor('sendMessage', (m) => m.chat_id === user);
    const sent = messagesTo(user);
    assert.equal(sent.length, 1, JSON.stringify(sent));
    assert.match(sent[0].text, new RegExp(`#${id}\\b`));
    assert.deepEqual(bot.refused(), [], 'nothing the real Bot API would refuse');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('Stars: a cancelled invoice leaves the order unpaid, says so, and Pay opens it again', async () => {
    const user = 610_002;
    const { context, page, auth } = await open(user);
    const errors = watchErrors(page);
    await addToCart(page, product('Sticker pack'));
    await page.goto('/checkout');
    await page.locator('[data-testid=checkout]').waitFor();
    await tapMainButton(page);
    const link = await opened(page, 'openInvoice');
    assert.ok(bot.invoice(link), 'a real invoice');
    await closeInvoice(page, 'cancelled');

    await page.waitForURL(/\/orders\/\d+$/);
    const id = Number(new URL(page.url()).pathname.split('/').pop());
    await page.waitForFunction(() => document.querySelector('[data-testid=order-note]')?.dataset.state === 'cancelled');
    assert.match(await page.locator('[data-testid=order-note]').innerText(), /cancelled.*try again/i);
    await orderStatus(page, 'pending_payment');
    assert.match((await mainButton(page)).text, /^Pay · /);
    await page.waitForFunction(() => !document.querySelector('[data-testid=toast]')?.textContent);
    await screenshot(page, 'shop-order-cancelled-light');
    assert.deepEqual(await seriousViolations(page), []);

    // Trying again opens the same invoice.
    assert.equal(await tapMainButton(page), true);
    assert.equal(await opened(page, 'openInvoice', 2), link);
    await page.waitForFunction(() => document.querySelector('[data-testid=order-note]')?.dataset.state === 'checking');
    await closeInvoice(page, 'failed');
    await page.waitForFunction(() => document.querySelector('[data-testid=order-note]')?.dataset.state === 'failed');

    const order = await orderOf(auth, id);
    assert.equal(order.status, 'pending_payment');
    assert.equal(paidEvents(order).length, 0);
    assert.deepEqual(messagesTo(user), [], 'nothing fulfilled, nothing said');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('Click: paid on Click\'s page, confirmed by Click\'s signed calls; the order page polls to paid', async () => {
    const user = 610_003;
    const { context, page, auth } = await open(user, 'hold', 'dark');
    const errors = watchErrors(page);
    const teapot = product('Teapot');
    await addToCart(page, teapot);
    await page.goto('/checkout');
    await page.locator('[data-testid=checkout]').waitFor();
    const methods = await page.locator('[data-testid=payment-method] input').evaluateAll((els) => els.map((e) => e.value));
    assert.ok(methods.includes('click'), methods.join());
    await page.locator('[data-testid=payment-method] input[value=click]').check();
    // Physical goods: the delivery form is there.
    await page.locator('[data-testid="contact.name"]').fill('Malika Karimova');
    await page.locator('[data-testid="contact.phone"]').fill('+998 93 111 22 33');
    await page.locator('[data-testid="contact.address"]').fill('Mustaqillik 7, Tashkent');
    await tapMainButton(page);

    // The app hands the customer to Click's page and shows the order, which it re-reads.
    const url = new URL(await opened(page, 'openLink'));
    await page.waitForURL(/\/orders\/\d+$/);
    const id = Number(new URL(page.url()).pathname.split('/').pop());
    assert.equal(url.origin + url.pathname, 'https://my.click.uz/services/pay');
    assert.equal(url.searchParams.get('service_id'), CLICK.serviceId);
    assert.equal(url.searchParams.get('merchant_id'), CLICK.merchantId);
    // Click names the order by its random reference, never by the (guessable) order id.
    const reference = url.searchParams.get('transaction_param');
    assert.match(reference, /^[0-9a-f]{24}$/);
    assert.notEqual(reference, String(id));
    assert.equal(url.searchParams.get('return_url'), `https://shop.example/?order=${id}`);
    const order0 = await orderOf(auth, id);
    assert.equal(order0.payment_method, 'click');
    assert.equal(order0.total.currency, 'UZS');
    // Click speaks sum; the order is kept in tiyin.
    const amount = url.searchParams.get('amount');
    assert.equal(Number(amount) * 100, order0.total.amount_minor);
    await orderStatus(page, 'pending_payment');

    // Click, after the customer paid: Prepare, then Complete (twice: Click repeats).
    const trans = 880_001;
    const prepared = await clickCall(shop.url, CLICK, { clickTransId: trans, reference, amount, action: 0 });
    assert.equal(prepared.error, 0, JSON.stringify(prepared));
    const done = { clickTransId: trans, reference, amount, action: 1, prepareId: prepared.merchant_prepare_id };
    const completed = await clickCall(shop.url, CLICK, done);
    assert.equal(completed.error, 0, JSON.stringify(completed));
    const again = await clickCall(shop.url, CLICK, done);
    assert.ok([0, -4].includes(again.error), JSON.stringify(again));

    await orderStatus(page, 'paid');
    assert.equal(await page.locator('[data-testid=order-note]').getAttribute('data-state'), 'paid');
    await page.waitForFunction(() => !document.querySelector('[data-testid=toast]')?.textContent);
    await screenshot(page, 'shop-order-paid-dark');
    assert.deepEqual(await seriousViolations(page), []);

    // Coming back through Click's return URL lands on the same order.
    await page.goto(`/?order=${id}`);
    await page.waitForURL(`**/orders/${id}`);
    await orderStatus(page, 'paid');

    const order = await orderOf(auth, id);
    assert.equal(paidEvents(order).length, 1, JSON.stringify(order.events));
    await bot.waitFor('sendMessage', (m) => m.chat_id === user);
    assert.equal(messagesTo(user).length, 1);
    assert.deepEqual(bot.refused(), []);
    assert.deepEqual(errors, []);
    await context.close();
  });
});
