// Helpers for the shopping journeys: server-side reads with the page's own identity.

/** The Authorization the page sent on its last /api call (so the test reads the same cart). */
export function lastAuth(calls) {
  const c = [...calls].reverse().find((c) => c.auth);
  return c?.auth;
}

/** Records /api requests with method, body and Idempotency-Key. */
export function recordRequests(page) {
  const out = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (!url.pathname.startsWith('/api/')) return;
    out.push({
      method: req.method(),
      path: url.pathname,
      search: url.search,
      auth: req.headers().authorization,
      key: req.headers()['idempotency-key'],
      body: req.postData(),
    });
  });
  return out;
}

/** The demo product whose variants differ by `option` (e.g. "size"). */
export async function productWithOption(shop, option) {
  const { body } = await shop.api('/api/products?limit=50&lang=en');
  return body.items.find((p) => p.variants.length > 1 && p.variants.every((v) => option in v.options));
}

export async function waitForText(page, selector, re, timeout = 10_000) {
  await page.waitForFunction(
    ({ selector, src, flags }) => {
      const el = document.querySelector(selector);
      return el && new RegExp(src, flags).test(el.textContent);
    },
    { selector, src: re.source, flags: re.flags },
    { timeout },
  );
}
