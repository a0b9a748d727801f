// Journey 2: the storefront "inside Telegram": a shop with a bot token, and a stub
// window.Telegram.WebApp carrying initData signed with that token, in light and dark themes.
// Journey 3: phone-sized screenshots of both, in e2e/artifacts/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { recordApiCalls, waitForCards } from '../lib/catalog.mjs';
import { imagesLoaded, launchBrowser, newPhoneContext, screenshot, startShop, watchErrors } from '../lib/harness.mjs';
import { THEMES, customerInitData, hexToRgb, installTelegramStub } from '../lib/telegram.mjs';

const BOT_TOKEN = '123456789:TEST-token';

/** `rgb(r, g, b)` or `color(srgb r g b)` (how Chromium reports color-mix()) → [r, g, b], 0-255. */
function channels(css) {
  const n = css.match(/[\d.]+/g).map(Number);
  return (css.startsWith('color(') ? n.map((v) => v * 255) : n).slice(0, 3).map(Math.round);
}

describe('inside Telegram', () => {
  let shop;
  let browser;

  before(async () => {
    shop = await startShop({
      botToken: BOT_TOKEN,
      // Nothing in these tests may reach the real Bot API.
      env: { TELEGRAM_API_URL: 'http://127.0.0.1:9' },
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await shop?.stop();
  });

  test('the shop has no dev sign-in and accepts initData signed with its token', async () => {
    assert.equal((await shop.api('/api/dev/init-data')).status, 404);
    const initData = customerInitData(BOT_TOKEN);
    const me = await shop.api('/api/me', { Authorization: `tma ${initData}` });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(me.body.id, 424242);
    const forged = customerInitData('987654321:OTHER-token');
    assert.equal((await shop.api('/api/me', { Authorization: `tma ${forged}` })).status, 401);
  });

  for (const scheme of ['light', 'dark']) {
    test(`${scheme} theme: ready() called, no dev banner, products listed, page follows themeParams`, async () => {
      const theme = THEMES[scheme];
      const initData = customerInitData(BOT_TOKEN);
      // The system preference is the opposite one: Telegram's colorScheme must win.
      const context = await newPhoneContext(browser, {
        baseURL: shop.url,
        colorScheme: scheme === 'dark' ? 'light' : 'dark',
      });
      await installTelegramStub(context, { initData, themeParams: theme, colorScheme: scheme });
      const page = await context.newPage();
      const errors = watchErrors(page);
      const calls = recordApiCalls(page);

      await page.goto('/');
      await waitForCards(page, 12);

      const tgCalls = await page.evaluate(() => [...window.__tgCalls]);
      assert.ok(tgCalls.includes('ready'), `ready() not called: ${tgCalls}`);
      assert.ok(tgCalls.includes('expand'), `expand() not called: ${tgCalls}`);

      assert.equal(await page.locator('[data-testid=dev-banner]').count(), 0);
      assert.ok(!calls.some((c) => c.path === '/api/dev/init-data'), 'asked for dev initData inside Telegram');
      assert.ok(calls.length >= 2);
      for (const c of calls) assert.equal(c.auth, `tma ${initData}`, `${c.path} sent the wrong Authorization`);

      const look = await page.evaluate(() => ({
        scheme: document.documentElement.dataset.colorScheme,
        bgVar: getComputedStyle(document.documentElement).getPropertyValue('--tg-theme-bg-color').trim(),
        body: getComputedStyle(document.body).backgroundColor,
        text: getComputedStyle(document.body).color,
        card: getComputedStyle(document.querySelector('[data-testid=product-card]')).backgroundColor,
        activeChip: getComputedStyle(document.querySelector('.chip--active')).backgroundColor,
      }));
      assert.equal(look.scheme, scheme);
      assert.equal(look.bgVar, theme.bg_color);
      assert.equal(look.body, hexToRgb(theme.bg_color));
      assert.equal(look.text, hexToRgb(theme.text_color));
      assert.equal(look.card, hexToRgb(theme.secondary_bg_color));
      // The chosen category chip is a 16 % tint of the theme's button colour on the page's
      // background: light in a light theme, dark in a dark one (a filled button-colour chip
      // read as a dark block in light themes; see style.css).
      const bg = channels(hexToRgb(theme.bg_color));
      const button = channels(hexToRgb(theme.button_color));
      const want = bg.map((c, i) => c + (button[i] - c) * 0.16);
      const got = channels(look.activeChip);
      assert.ok(got.every((c, i) => Math.abs(c - want[i]) <= 1), `${look.activeChip} is not ${want}`);

      await imagesLoaded(page);
      await screenshot(page, `catalog-${scheme}`);
      assert.deepEqual(errors, []);
      await context.close();
    });
  }

  test('without themeParams, colorScheme dark alone switches to the dark defaults', async () => {
    const context = await newPhoneContext(browser, { baseURL: shop.url, colorScheme: 'light' });
    await installTelegramStub(context, {
      initData: customerInitData(BOT_TOKEN),
      themeParams: {},
      colorScheme: 'dark',
    });
    const page = await context.newPage();
    await page.goto('/');
    await waitForCards(page, 12);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, hexToRgb('#17212b'));
    await context.close();
  });
});
