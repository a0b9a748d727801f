// Small waits and reads over the catalog page, shared by the journeys.

const CARD = '[data-testid=product-card]';

/** Waits until exactly `n` product cards show and no reload is pending. */
export async function waitForCards(page, n, timeout = 15_000) {
  await page.waitForFunction(
    ({ sel, n }) =>
      document.querySelectorAll(sel).length === n &&
      !document.querySelector('.catalog[aria-busy=true]'),
    { sel: CARD, n },
    { timeout },
  );
}

/** Waits until the grid shows exactly these titles, in this order. */
export async function waitForTitles(page, titles, timeout = 15_000) {
  await page.waitForFunction(
    ({ sel, titles }) => {
      const shown = [...document.querySelectorAll(`${sel} .card__title`)].map((e) => e.textContent.trim());
      return (
        shown.length === titles.length &&
        shown.every((t, i) => t === titles[i]) &&
        !document.querySelector('.catalog[aria-busy=true]')
      );
    },
    { sel: CARD, titles },
    { timeout },
  );
}

export async function cardTitles(page) {
  return page.locator(`${CARD} .card__title`).allInnerTexts();
}

export async function cardPrices(page) {
  return page.locator(`${CARD} [data-testid=product-price]`).allInnerTexts();
}

/** Records every /api/* request the page makes: path, query and Authorization header. */
export function recordApiCalls(page) {
  const calls = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.pathname.startsWith('/api/')) {
      calls.push({ path: url.pathname, search: url.search, auth: req.headers().authorization });
    }
  });
  return calls;
}
