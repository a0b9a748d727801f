// Helpers for driving the merchant admin at /admin: a browser context of a given size, the
// sign-in form, the page's own session for API reads, and console errors that matter.

/**
 * Console errors and uncaught exceptions, except the failed requests the admin causes on
 * purpose: the signed-out `GET /api/admin/me` (401) and failed sign-ins, plus any answer the
 * test provokes (`expected`: e.g. `{ status: 422, path: /\/api\/admin\/products\.csv$/ }`),
 * which Chromium logs as failed resources.
 */
export function watchAdminErrors(page, expected = []) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    const url = m.location()?.url ?? '';
    if (m.type() !== 'error' || /^https:\/\/telegram\.org\//.test(url)) return;
    if (/status of 401/.test(m.text()) && /\/api\/admin\/(me|login)$/.test(url)) return;
    if (expected.some((e) => m.text().includes(`status of ${e.status}`) && e.path.test(url))) return;
    errors.push(`console: ${m.text()} (${url})`);
  });
  return errors;
}

/** A context of `viewport` size (a phone below 600 px: touch, 2× density) that never reaches telegram.org. */
export async function newAdminContext(browser, baseURL, viewport) {
  const phone = viewport.width < 600;
  const context = await browser.newContext({
    baseURL,
    viewport,
    deviceScaleFactor: phone ? 2 : 1,
    isMobile: phone,
    hasTouch: phone,
    locale: 'en-US',
  });
  await context.route(/^https?:\/\/([^/]+\.)?telegram\.org\//, (route) => route.abort());
  return context;
}

/** Opens /admin/login and signs in; resolves on the dashboard with `email` shown as who is signed in. */
export async function signInAs(page, email, password) {
  await page.goto('/admin/login');
  await page.locator('[data-testid=email]').fill(email);
  await page.locator('[data-testid=password]').fill(password);
  await page.locator('[data-testid=sign-in]').click();
  await page.waitForURL((u) => u.pathname === '/admin');
  await page.waitForFunction(
    (e) => document.querySelector('[data-testid=who]')?.textContent.includes(e),
    email,
  );
}

/** GET an admin API path with the page's own session cookie. */
export async function adminGet(page, path) {
  return page.evaluate(async (p) => {
    const r = await fetch(p, { credentials: 'same-origin' });
    return { status: r.status, body: await r.json() };
  }, path);
}

/** The page is no wider than the screen (nothing scrolls sideways). */
export async function horizontalOverflow(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

/**
 * Elements of the page's content that reach past the screen's right edge, cut off whether or
 * not the document itself scrolls (a grid column grown by a long unbreakable word, a row of
 * buttons that does not wrap): up to five, widest first, as `tag.class[testid] +Npx`.
 */
export async function cutOff(page) {
  return page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    return [...document.querySelectorAll('.main *')]
      .map((e) => ({ e, right: e.getBoundingClientRect().right }))
      .filter(({ e, right }) => right > w + 1 && e.getClientRects().length > 0)
      // Visually hidden on purpose (a phone's table head, screen-reader text): clipped to 1 px.
      .filter(({ e }) => {
        const hidden = e.closest('thead, .sr-only');
        return !hidden || hidden.getBoundingClientRect().width > 1;
      })
      .sort((a, b) => b.right - a.right)
      .slice(0, 5)
      .map(({ e, right }) => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')}[${e.dataset.testid ?? ''}] +${Math.round(right - w)}px`);
  });
}
