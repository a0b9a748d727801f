// Journey 8: customers bring customers. The product page's Share button sends the product to a
// chat the customer picks: on Bot API 8.0 a message the server prepared
// (`POST /api/products/{id}/share` -> savePreparedInlineMessage on a fake Bot API) through
// `shareMessage`; on older clients `switchInlineQuery(title, ['users','groups','channels'])`;
// no button where the client can do neither. The cart reminder's `startapp=cart` opens the cart.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startFakeBotApi } from '../lib/fake-bot-api.mjs';
import { launchBrowser, newPhoneContext, screenshot, startShop, watchErrors } from '../lib/harness.mjs';
import {
  THEMES,
  customerInitData,
  hideTelegramButtons,
  installTelegramStub,
  showTelegramButtons,
} from '../lib/telegram.mjs';

const BOT_TOKEN = '123456789:SHARE-e2e-token';

describe('Share and deep links', () => {
  let shop;
  let bot;
  let browser;
  let teapot;

  before(async () => {
    bot = await startFakeBotApi(BOT_TOKEN);
    shop = await startShop({
      botToken: BOT_TOKEN,
      env: {
        TELEGRAM_API_URL: bot.url,
        TELEGRAM_WEBHOOK_SECRET: 'share-e2e-secret',
        PUBLIC_URL: 'https://shop.example',
      },
    });
    browser = await launchBrowser();
    const products = (await shop.api('/api/products?limit=50&lang=en')).body.items;
    teapot = products.find((p) => p.title === 'Teapot');
    assert.ok(teapot, 'demo product Teapot');
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
    await bot?.stop();
  });

  async function open(version, userId, share = true, scheme = 'light') {
    const context = await newPhoneContext(browser, { baseURL: shop.url, colorScheme: scheme });
    await installTelegramStub(context, {
      initData: customerInitData(BOT_TOKEN, { id: userId, language_code: 'en' }),
      themeParams: THEMES[scheme],
      colorScheme: scheme,
      version,
      share,
    });
    return { context, page: await context.newPage() };
  }

  const tgCalls = (page) => page.evaluate(() => [...window.__tgCalls]);

  async function onProduct(page) {
    await page.goto(`/product/${teapot.id}`);
    await page.locator('[data-testid=product-title]').waitFor();
  }

  /** The product's first picture has loaded (the catalog's lazy cards behind it never do). */
  const pictureShown = (page) =>
    page.waitForFunction(() => {
      const img = document.querySelector('[data-testid=gallery] img');
      return img?.complete && img.naturalWidth > 0;
    });

  test('Bot API 8.0: the prepared message goes through shareMessage', async () => {
    const { context, page } = await open('8.0', 800_100);
    const errors = watchErrors(page);
    await onProduct(page);
    const share = page.locator('[data-testid=share]');
    assert.equal(await share.innerText(), 'Share');
    await pictureShown(page);
    await showTelegramButtons(page);
    await screenshot(page, 'product-share-light');
    await hideTelegramButtons(page);
    await share.click();
    await page.waitForFunction(() => window.__tgCalls.some((c) => c.startsWith('shareMessage:')));
    const calls = await tgCalls(page);
    assert.deepEqual(calls.filter((c) => c.startsWith('shareMessage:')), ['shareMessage:prepared_1']);
    assert.equal(calls.filter((c) => c.startsWith('switchInlineQuery:')).length, 0);
    const [prepared] = bot.of('savePreparedInlineMessage');
    assert.equal(prepared.user_id, 800_100);
    assert.equal(prepared.result.title, 'Teapot');
    assert.equal(
      prepared.result.reply_markup.inline_keyboard[0][0].url,
      `https://t.me/e2e_shop_bot?startapp=product_${teapot.id}`,
    );
    assert.deepEqual(bot.refused(), [], 'nothing the real Bot API would refuse');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('an older client (7.0) shares through the inline query', async () => {
    const before = bot.of('savePreparedInlineMessage').length;
    const { context, page } = await open('7.0', 800_200, true, 'dark');
    const errors = watchErrors(page);
    await onProduct(page);
    await pictureShown(page);
    await screenshot(page, 'product-share-dark');
    await page.locator('[data-testid=share]').click();
    await page.waitForFunction(() => window.__tgCalls.some((c) => c.startsWith('switchInlineQuery:')));
    const calls = await tgCalls(page);
    assert.deepEqual(calls.filter((c) => c.startsWith('switchInlineQuery:')), [
      'switchInlineQuery:Teapot:users,groups,channels',
    ]);
    assert.equal(bot.of('savePreparedInlineMessage').length, before, 'no server call needed');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('a client that can share neither way shows no Share button', async () => {
    for (const [version, share] of [
      ['6.2', true],
      ['8.0', false],
    ]) {
      const { context, page } = await open(version, 800_300, share);
      await onProduct(page);
      assert.equal(await page.locator('[data-testid=share]').count(), 0, `${version} share=${share}`);
      await context.close();
    }
  });

  test("the cart reminder's button (/?startapp=cart) opens the cart", async () => {
    const { context, page } = await open('8.0', 800_400);
    await page.goto('/?startapp=cart');
    await page.waitForURL('**/cart');
    await context.close();
  });
});
