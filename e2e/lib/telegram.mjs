// Signing Telegram Mini App initData the way Telegram does, for tests
// (https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app):
//   secret = HMAC_SHA256(key = "WebAppData", msg = bot_token)
//   hash   = hex(HMAC_SHA256(key = secret, msg = sorted "k=v" lines joined by "\n"))
import { createHmac } from 'node:crypto';

/**
 * @param {string} botToken
 * @param {Record<string, string | number | object>} fields  objects (e.g. `user`) become JSON
 * @returns {string} the raw initData query string, `hash` last
 */
export function signInitData(botToken, fields) {
  const pairs = Object.entries(fields).map(([k, v]) => [
    k,
    typeof v === 'object' ? JSON.stringify(v) : String(v),
  ]);
  const checkString = [...pairs]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  const secret = createHmac('sha256', 'WebAppData').update(botToken).digest();
  const hash = createHmac('sha256', secret).update(checkString).digest('hex');
  const query = new URLSearchParams(pairs);
  query.append('hash', hash);
  return query.toString();
}

/** Fresh initData for a customer, signed with `botToken`. */
export function customerInitData(botToken, user = {}) {
  return signInitData(botToken, {
    auth_date: Math.floor(Date.now() / 1000),
    query_id: 'AAE2e-test',
    user: {
      id: 424242,
      first_name: 'Test',
      last_name: 'Customer',
      username: 'test_customer',
      language_code: 'en',
      allows_write_to_pm: true,
      ...user,
    },
  });
}

/** Theme params close to what Telegram's Android client sends. */
export const THEMES = {
  light: {
    bg_color: '#fbfaf8',
    text_color: '#000000',
    hint_color: '#8e8e93',
    link_color: '#2481cc',
    button_color: '#3390ec',
    button_text_color: '#ffffff',
    secondary_bg_color: '#f0eff4',
    header_bg_color: '#fbfaf8',
    bottom_bar_bg_color: '#ffffff',
    accent_text_color: '#2481cc',
    section_bg_color: '#ffffff',
    section_header_text_color: '#6d6d72',
    section_separator_color: '#e0e0e4',
    subtitle_text_color: '#8e8e93',
    destructive_text_color: '#e53935',
  },
  dark: {
    bg_color: '#212d3b',
    text_color: '#ffffff',
    hint_color: '#7d8b99',
    link_color: '#5eabe1',
    button_color: '#50a8eb',
    button_text_color: '#ffffff',
    secondary_bg_color: '#1a2430',
    header_bg_color: '#242d39',
    bottom_bar_bg_color: '#1d2733',
    accent_text_color: '#64b5ef',
    section_bg_color: '#1d2733',
    section_header_text_color: '#79c4fc',
    section_separator_color: '#0d1721',
    subtitle_text_color: '#7e8b98',
    destructive_text_color: '#ee686f',
  },
};

/**
 * Installs a stand-in `window.Telegram.WebApp` before any page script runs, recording the
 * calls the app makes in `window.__tgCalls`.
 */
export async function installTelegramStub(
  context,
  {
    initData,
    themeParams,
    colorScheme,
    startParam,
    languageCode = 'en',
    invoiceStatus = 'paid',
    version = '8.0',
    // Whether the client has the sharing members (`shareMessage` 8.0, `switchInlineQuery`
    // 6.7) for its version; off by default, so other pages' tests see no Share button.
    share = false,
  },
) {
  await context.addInitScript(
    ({ initData, themeParams, colorScheme, startParam, languageCode, invoiceStatus, version, share }) => {
      const calls = [];
      const handlers = {};
      Object.defineProperty(window, '__tgCalls', { value: calls });
      // Every tap the customer makes: clicks on the page, and (below) taps on Telegram's own
      // buttons, which live outside the page.
      const taps = [];
      Object.defineProperty(window, '__taps', { value: taps });
      window.addEventListener(
        'click',
        (e) => {
          if (e.isTrusted) taps.push(`page:${e.target?.closest?.('[data-testid]')?.dataset.testid ?? e.target?.tagName}`);
        },
        true,
      );
      const versionAtLeast = (v) => {
        const [a, b] = String(version).split('.').map(Number);
        const [c, d = 0] = String(v).split('.').map(Number);
        return a > c || (a === c && b >= d);
      };
      // MainButton and BackButton: their state, and the app's click handlers.
      const button = (name) => {
        const clicks = [];
        return {
          text: '',
          isVisible: false,
          isActive: true,
          isProgressVisible: false,
          setParams(p) {
            calls.push(`${name}.setParams:${p.text ?? ''}:${p.is_active}`);
            if ('text' in p) this.text = p.text;
            if ('is_active' in p) this.isActive = p.is_active;
            if ('is_visible' in p) this.isVisible = p.is_visible;
            return this;
          },
          setText(t) {
            this.text = t;
            return this;
          },
          show() {
            calls.push(`${name}.show`);
            this.isVisible = true;
            return this;
          },
          hide() {
            calls.push(`${name}.hide`);
            this.isVisible = false;
            return this;
          },
          enable() {
            this.isActive = true;
            return this;
          },
          disable() {
            this.isActive = false;
            return this;
          },
          showProgress() {
            calls.push(`${name}.showProgress`);
            this.isProgressVisible = true;
            return this;
          },
          hideProgress() {
            this.isProgressVisible = false;
            return this;
          },
          onClick(fn) {
            calls.push(`${name}.onClick`);
            clicks.push(fn);
            return this;
          },
          offClick(fn) {
            const i = clicks.indexOf(fn);
            if (i >= 0) clicks.splice(i, 1);
            return this;
          },
          /** What a tap does in Telegram: nothing while inactive, hidden or in progress. */
          __tap() {
            if (!this.isVisible || !this.isActive) return false;
            calls.push(`${name}.tap`);
            taps.push(`${name}:${this.text}`);
            clicks.forEach((fn) => fn());
            return true;
          },
        };
      };
      window.Telegram = {
        WebApp: {
          initData,
          initDataUnsafe: {
            user: { id: 424242, first_name: 'Test', language_code: languageCode },
            ...(startParam ? { start_param: startParam } : {}),
          },
          version: String(version),
          platform: 'android',
          colorScheme,
          themeParams,
          isExpanded: false,
          isFullscreen: false,
          MainButton: button('MainButton'),
          BackButton: button('BackButton'),
          // Bot API 7.10; an older client has no such member at all.
          ...(versionAtLeast('7.10') ? { SecondaryButton: button('SecondaryButton') } : {}),
          // Bot API 8.0: older clients lack these too.
          ...(versionAtLeast('8.0')
            ? {
                requestFullscreen() {
                  calls.push('requestFullscreen');
                  this.isFullscreen = true;
                },
                exitFullscreen() {
                  calls.push('exitFullscreen');
                  this.isFullscreen = false;
                },
                addToHomeScreen() {
                  calls.push('addToHomeScreen');
                },
              }
            : {}),
          ...(share && versionAtLeast('8.0')
            ? {
                shareMessage(id) {
                  calls.push(`shareMessage:${id}`);
                },
              }
            : {}),
          ...(share && versionAtLeast('6.7')
            ? {
                switchInlineQuery(query, types) {
                  calls.push(`switchInlineQuery:${query}:${(types ?? []).join(',')}`);
                },
              }
            : {}),
          HapticFeedback: {
            impactOccurred(style) {
              calls.push(`haptic.impact:${style}`);
            },
            notificationOccurred(kind) {
              calls.push(`haptic.notification:${kind}`);
            },
            selectionChanged() {},
          },
          isVersionAtLeast: versionAtLeast,
          openInvoice(url, cb) {
            calls.push(`openInvoice:${url}`);
            // 'hold': the invoice stays open until the test closes it (`closeInvoice`), as
            // Telegram keeps it open while the payment goes through the bot.
            if ((window.__invoiceStatus || invoiceStatus) === 'hold') {
              window.__invoiceCallback = cb;
              return;
            }
            setTimeout(() => cb && cb(window.__invoiceStatus || invoiceStatus), 50);
          },
          openLink(url) {
            calls.push(`openLink:${url}`);
          },
          // Telegram asks the user in its own dialog; the stub's user agrees and Telegram
          // reports the number without a leading + (as clients do), or declines when the test
          // set `window.__contactDeclined`.
          requestContact(cb) {
            calls.push('requestContact');
            const ok = !window.__contactDeclined;
            const answer = ok
              ? { status: 'sent', responseUnsafe: { contact: { phone_number: '998901112233', first_name: 'Test', user_id: 1 } } }
              : { status: 'cancelled' };
            setTimeout(() => cb && cb(ok, answer), 20);
          },
          // t.me links (a Crypto Pay invoice in @CryptoBot's Mini App) open inside Telegram.
          openTelegramLink(url) {
            calls.push(`openTelegramLink:${url}`);
          },
          ready() {
            calls.push('ready');
          },
          expand() {
            calls.push('expand');
            this.isExpanded = true;
          },
          onEvent(name, fn) {
            calls.push(`onEvent:${name}`);
            (handlers[name] ||= []).push(fn);
          },
          offEvent() {},
        },
      };
    },
    { initData, themeParams, colorScheme, startParam, languageCode, invoiceStatus, version, share },
  );
}

/** Taps the stub's MainButton (false if it is hidden or inactive). */
export async function tapMainButton(page) {
  return page.evaluate(() => window.Telegram.WebApp.MainButton.__tap());
}

/** Taps the stub's SecondaryButton (false if it is hidden, inactive or absent). */
export async function tapSecondaryButton(page) {
  return page.evaluate(() => window.Telegram.WebApp.SecondaryButton?.__tap() ?? false);
}

/** The stub SecondaryButton's state (null when the client has none). */
export async function secondaryButton(page) {
  return page.evaluate(() => {
    const b = window.Telegram.WebApp.SecondaryButton;
    return b ? { text: b.text, visible: b.isVisible, active: b.isActive, progress: b.isProgressVisible } : null;
  });
}

/**
 * For screenshots only: draws the stub's visible MainButton and SecondaryButton as a bar at the
 * bottom of the page, roughly as Telegram draws them below a Mini App (its buttons are not part
 * of the page, so a plain screenshot would not show the flow). `hideTelegramButtons` removes it.
 */
export async function showTelegramButtons(page) {
  await page.evaluate(() => {
    const tg = window.Telegram.WebApp;
    const bar = document.createElement('div');
    bar.id = '__tg-bottom-bar';
    bar.style.cssText =
      'position:fixed;left:0;right:0;bottom:0;z-index:99;display:flex;gap:8px;padding:8px 12px 12px;' +
      `background:${tg.themeParams.bottom_bar_bg_color || tg.themeParams.bg_color};` +
      'font:600 15px/1 system-ui,sans-serif';
    for (const [b, main] of [
      [tg.SecondaryButton, false],
      [tg.MainButton, true],
    ]) {
      if (!b?.isVisible) continue;
      const el = document.createElement('div');
      el.textContent = b.text;
      el.style.cssText =
        'flex:1;height:48px;border-radius:10px;display:flex;align-items:center;justify-content:center;' +
        (main
          ? `background:${tg.themeParams.button_color};color:${tg.themeParams.button_text_color}`
          : `background:${tg.themeParams.secondary_bg_color};color:${tg.themeParams.link_color}`);
      bar.append(el);
    }
    document.body.append(bar);
  });
}

export async function hideTelegramButtons(page) {
  await page.evaluate(() => document.getElementById('__tg-bottom-bar')?.remove());
}

/** Every tap so far: `page:<testid>` for clicks in the page, `MainButton:<text>` and the like. */
export async function taps(page) {
  return page.evaluate(() => [...window.__taps]);
}

/** Closes the invoice the app holds open (stub opened with `invoiceStatus: 'hold'`). */
export async function closeInvoice(page, status) {
  await page.waitForFunction(() => typeof window.__invoiceCallback === 'function');
  await page.evaluate((status) => {
    const cb = window.__invoiceCallback;
    window.__invoiceCallback = undefined;
    cb(status);
  }, status);
}

/** The stub MainButton's state. */
export async function mainButton(page) {
  return page.evaluate(() => {
    const b = window.Telegram.WebApp.MainButton;
    return { text: b.text, visible: b.isVisible, active: b.isActive, progress: b.isProgressVisible };
  });
}

/** `#rrggbb` → `rgb(r, g, b)` as getComputedStyle reports it. */
export function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255})`;
}
