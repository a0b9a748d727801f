// The merchant admin's other pages on a phone (390×844), as a merchant uses them: categories
// (create, rename, reorder, kept after a reload), the audit log (a rename and a creation shown
// field by field), CSV import (a bad file, LF and CRLF, refused naming its line; a good one
// imported and its products listed), admins (the password minimum checked before sending, a
// new admin is staff, signs in without the owners' pages, and is disabled by the owner) and a product's images (upload three, reorder, remove, kept after a
// reload). Screenshots: e2e/artifacts/admin-{categories,audit,csv,admins,images}-phone.png.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { adminGet, horizontalOverflow, newAdminContext, signInAs, watchAdminErrors } from '../lib/admin.mjs';
import { PHONE, imagesLoaded, launchBrowser, screenshot, startShop } from '../lib/harness.mjs';
import { makePng } from '../lib/png.mjs';
import { recordRequests, waitForText } from '../lib/shop.mjs';

const EMAIL = 'owner@shop.test';
const PASSWORD = 'correct horse battery';

/** The ids of the category rows, top to bottom, as the page shows them. */
async function shownCategoryIds(page) {
  return page.locator('[data-testid=category]').evaluateAll((els) => els.map((e) => Number(e.dataset.categoryId)));
}

/** Waits until no category arrow is disabled for being busy (the list on screen is the saved one). */
async function categoriesSettled(page) {
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('[data-testid=category]')];
    return rows.length > 1 && !rows[1].querySelector('[data-testid=category-up]').disabled;
  });
}

/** The image URLs of the product page's thumbnails, in order. */
async function shownImages(page) {
  return page.locator('[data-testid=image] img').evaluateAll((els) => els.map((e) => new URL(e.src).pathname));
}

const COLUMNS = [
  'product_id', 'variant_id', 'kind', 'category_id', 'title_uz', 'title_ru', 'title_en',
  'description_uz', 'description_ru', 'description_en', 'sku', 'options', 'price', 'currency',
  'stock', 'ikpu_code', 'package_code', 'vat_percent', 'archived', 'product_archived',
];

/** A products CSV for new products: each `row` fills the named columns, the rest empty. */
function productsCsv(rows, eol = '\n') {
  const quote = (v) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  const lines = [COLUMNS.join(',')];
  for (const r of rows) lines.push(r === null ? '' : COLUMNS.map((c) => quote(String(r[c] ?? ''))).join(','));
  return Buffer.from(lines.join(eol) + eol);
}

describe('merchant admin pages on a phone', () => {
  let shop;
  let browser;
  let context;
  let page;
  let errors;
  let reqs;
  let categoryId;

  before(async () => {
    shop = await startShop({ env: { ADMIN_EMAIL: EMAIL, ADMIN_PASSWORD: PASSWORD } });
    browser = await launchBrowser();
    context = await newAdminContext(browser, shop.url, PHONE);
    page = await context.newPage();
    errors = watchAdminErrors(page, [{ status: 422, path: /\/api\/admin\/products\.csv$/ }]);
    reqs = recordRequests(page);
    await signInAs(page, EMAIL, PASSWORD);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await shop?.stop();
  });

  test('categories: create, rename, reorder; all kept after a reload', async () => {
    await page.goto('/admin/categories');
    await page.locator('[data-testid=category]').first().waitFor();
    const before = await shownCategoryIds(page);
    assert.ok(before.length >= 3, `demo categories: ${before}`);

    // Create: the new category is listed last, with its titles.
    await page.locator('[data-testid=new-category-en]').fill('Ceramics');
    await page.locator('[data-testid=new-category-ru]').fill('Керамика');
    await page.locator('[data-testid=create-category]').click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=category]').length === n, before.length + 1);
    const created = await shownCategoryIds(page);
    categoryId = created.at(-1);
    assert.ok(!before.includes(categoryId));
    const row = page.locator(`[data-testid=category][data-category-id="${categoryId}"]`);
    assert.equal(await row.locator('[data-testid=category-en]').inputValue(), 'Ceramics');
    assert.equal(await row.locator('[data-testid=category-uz]').inputValue(), '');
    assert.equal(await page.locator('[data-testid=new-category-en]').inputValue(), '', 'the form is emptied');

    // Rename (en), keeping ru.
    await row.locator('[data-testid=category-en]').fill('Pottery');
    await row.locator('[data-testid=rename-category]').click();
    await waitForText(page, '[data-testid=toast]', /saved/i);

    // Reorder: up twice in a row, then down once. Each click waits only for the arrow to be
    // enabled again, as a quick merchant would; every move must count.
    await categoriesSettled(page);
    await row.locator('[data-testid=category-up]').click();
    await row.locator('[data-testid=category-up]').click();
    await row.locator('[data-testid=category-down]').click();
    const n = created.length;
    const expected = [...created.slice(0, n - 2), categoryId, created[n - 2]];
    await page.waitForFunction(
      (want) => JSON.stringify([...document.querySelectorAll('[data-testid=category]')].map((e) => Number(e.dataset.categoryId))) === want,
      JSON.stringify(expected),
      { timeout: 10_000 },
    );
    await categoriesSettled(page);
    assert.deepEqual(await shownCategoryIds(page), expected);
    const puts = reqs.filter((r) => r.method === 'PUT' && r.path === '/api/admin/categories/order');
    assert.equal(puts.length, 3);
    assert.deepEqual(JSON.parse(puts[2].body).ids, expected, 'the last order sent is the one shown');

    // After a reload: the same order and the new name, on the page and in the API.
    await page.reload();
    await page.locator('[data-testid=category]').first().waitFor();
    assert.deepEqual(await shownCategoryIds(page), expected);
    assert.equal(await row.locator('[data-testid=category-en]').inputValue(), 'Pottery');
    assert.equal(await row.locator('[data-testid=category-ru]').inputValue(), 'Керамика');
    const { body } = await adminGet(page, '/api/admin/categories');
    const api = body.items.sort((a, b) => a.position - b.position || a.id - b.id);
    assert.deepEqual(api.map((c) => c.id), expected);
    assert.equal(api.find((c) => c.id === categoryId).texts.en, 'Pottery');
    // The storefront lists it by the new name in its place.
    const { body: pub } = await shop.api('/api/categories?lang=en');
    const items = pub.items ?? pub;
    assert.deepEqual(items.map((c) => c.id), expected);
    assert.equal(items.find((c) => c.id === categoryId).title, 'Pottery');

    assert.ok((await horizontalOverflow(page)) <= 0, 'nothing scrolls sideways');
    await row.scrollIntoViewIfNeeded();
    await screenshot(page, 'admin-categories-phone');
    assert.deepEqual(errors, []);
  });

  test('audit log: the rename and the creation, field by field', async () => {
    assert.ok(categoryId, 'the category from the previous test');
    await page.goto('/admin/audit');
    const what = `category #${categoryId}`;
    const update = page.locator('[data-testid=audit-entry][data-action=update]', { hasText: what });
    await update.first().waitFor();
    assert.equal(await update.count(), 1);
    assert.match(await update.innerText(), new RegExp(EMAIL));
    await update.locator('summary').click();
    const rows = update.locator('table.diff tbody tr');
    const changed = await rows.evaluateAll((trs) =>
      trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())),
    );
    // Only what differs: the English title (and what follows from it), not the Russian one.
    assert.ok(changed.some(([f, b, a]) => f === 'texts.en' && b === 'Ceramics' && a === 'Pottery'), JSON.stringify(changed));
    // Nothing about the languages left alone (uz was empty on creation and still is).
    assert.ok(!changed.some(([f]) => f === 'texts.ru' || f === 'texts.uz'), JSON.stringify(changed));
    assert.ok(!changed.some(([f]) => f === 'id'), JSON.stringify(changed));

    // A creation has nothing before: each field of what was made is its own row, not one blob.
    const create = page.locator('[data-testid=audit-entry][data-action=create]', { hasText: what });
    await create.locator('summary').click();
    const made = await create.locator('table.diff tbody tr').evaluateAll((trs) =>
      trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())),
    );
    assert.ok(made.some(([f, b, a]) => f === 'texts.en' && b === '—' && a === 'Ceramics'), JSON.stringify(made));
    assert.ok(made.some(([f, b, a]) => f === 'texts.ru' && b === '—' && a === 'Керамика'), JSON.stringify(made));
    assert.ok(made.some(([f, , a]) => f === 'id' && a === String(categoryId)), JSON.stringify(made));
    assert.ok(made.every(([, , a]) => !a.startsWith('{')), JSON.stringify(made));

    // The reorders are logged too.
    assert.ok((await page.locator('[data-testid=audit-entry][data-action=reorder]').count()) >= 3);
    assert.ok((await horizontalOverflow(page)) <= 0, 'nothing scrolls sideways');
    await update.scrollIntoViewIfNeeded();
    await screenshot(page, 'admin-audit-phone');
    assert.deepEqual(errors, []);
  });

  test('CSV import: a bad file is refused naming its line (LF and CRLF); a good one imports', async () => {
    await page.goto('/admin/csv');
    const stamp = Date.now();
    const good = (i) => ({
      kind: 'physical',
      title_en: `Rishtan bowl ${i} ${stamp}`,
      title_ru: `Риштанская пиала ${i}`,
      description_en: 'Glazed, "hand-painted", 18 cm',
      sku: `RSH-${i}-${stamp}`,
      price: '85000',
      currency: 'UZS',
      stock: '4',
    });
    const upload = async (name, buffer) => {
      await page.locator('[data-testid=csv-file]').setInputFiles({ name, mimeType: 'text/csv', buffer });
      await page.locator('[data-testid=import]').click();
    };
    const badRows = async () => {
      await page.locator('[data-testid=import-rows]').waitFor();
      return page.locator('[data-testid=import-row]').evaluateAll((trs) =>
        trs.map((tr) => [...tr.children].map((c) => c.textContent.trim())),
      );
    };

    // LF: line 3 has a comma decimal.
    await upload('bad.csv', productsCsv([good(1), { ...good(2), price: '12,5' }]));
    let bad = await badRows();
    assert.equal(bad.length, 1, JSON.stringify(bad));
    assert.deepEqual(bad[0].slice(0, 2), ['3', 'price']);
    assert.match(await page.locator('[data-testid=import-rows]').innerText(), /nothing/i);

    // CRLF, as a Windows spreadsheet saves it, with an empty line after line 2: line 4.
    await upload('bad-crlf.csv', productsCsv([good(1), null, { ...good(2), kind: 'service' }], '\r\n'));
    await page.waitForFunction(() => document.querySelector('[data-testid=import-row] td')?.textContent.trim() !== '3');
    bad = await badRows();
    assert.equal(bad.length, 1, JSON.stringify(bad));
    assert.deepEqual(bad[0].slice(0, 2), ['4', 'kind']);
    assert.ok((await horizontalOverflow(page)) <= 0, 'nothing scrolls sideways');
    await page.locator('[data-testid=import-rows]').scrollIntoViewIfNeeded();
    await screenshot(page, 'admin-csv-phone');

    // Nothing of either bad file was imported.
    let { body: listed } = await shop.api(`/api/products?q=${encodeURIComponent(String(stamp))}&lang=en`);
    assert.equal(listed.items.length, 0);

    // The good file (CRLF too): two products created.
    await upload('good.csv', productsCsv([good(1), good(2)], '\r\n'));
    await waitForText(page, '[data-testid=import-done]', /Created: 2\b/);
    assert.match(await page.locator('[data-testid=import-done]').innerText(), /Updated: 0\b/);
    ({ body: listed } = await shop.api(`/api/products?q=${encodeURIComponent('Rishtan')}&lang=en`));
    const mine = listed.items.filter((p) => p.title.endsWith(String(stamp)));
    assert.deepEqual(mine.map((p) => p.title).sort(), [`Rishtan bowl 1 ${stamp}`, `Rishtan bowl 2 ${stamp}`]);
    assert.deepEqual(mine[0].variants[0].price, { amount_minor: 8_500_000, currency: 'UZS' });
    assert.equal(mine[0].variants[0].stock, 4);

    // And the merchant finds them in the products list.
    await page.goto('/admin/products');
    await page.locator('[data-testid=product-row]', { hasText: `Rishtan bowl 2 ${stamp}` }).waitFor();
    assert.deepEqual(errors, []);
  });

  test('admins: a too-short password is caught before sending; a new admin can sign in', async () => {
    await page.goto('/admin/admins');
    await page.locator('[data-testid=admin]').first().waitFor();
    assert.match(await page.locator('[data-testid=admins]').innerText(), new RegExp(EMAIL));
    const email = `cashier-${Date.now()}@shop.test`;
    const password = 'samsa and green tea';

    // Nine characters: the server wants ten, so the form says so and sends nothing.
    await page.locator('[data-testid=admin-email]').fill(email);
    await page.locator('[data-testid=admin-password]').fill('123456789');
    await page.locator('[data-testid=add-admin]').click();
    await waitForText(page, '[data-testid=password-error]', /at least 10 characters/i);
    assert.equal(reqs.filter((r) => r.method === 'POST' && r.path === '/api/admin/admins').length, 0);

    await page.locator('[data-testid=admin-password]').fill(password);
    await page.locator('[data-testid=add-admin]').click();
    const row = page.locator('[data-testid=admin]', { hasText: email });
    await row.waitFor();
    assert.equal(await row.getAttribute('data-role'), 'staff', 'a new admin is staff unless an owner is chosen');
    assert.equal(await page.locator('[data-testid=password-error]').count(), 0);
    assert.equal(await page.locator('[data-testid=admin-password]').inputValue(), '', 'the password is not kept on screen');
    assert.ok((await horizontalOverflow(page)) <= 0, 'nothing scrolls sideways');
    // A short page: the top bar stays a bar (the spare height is not given to it).
    const bar = await page.locator('.side').boundingBox();
    assert.ok(bar.height < 100, `top bar is ${bar.height}px tall`);
    await screenshot(page, 'admin-admins-phone');

    // The new admin signs in in a browser of their own.
    const theirs = await newAdminContext(browser, shop.url, PHONE);
    try {
      const p2 = await theirs.newPage();
      const errs2 = watchAdminErrors(p2);
      await signInAs(p2, email, password);
      const { status, body } = await adminGet(p2, '/api/admin/me');
      assert.equal(status, 200);
      assert.equal(body.email, email);
      assert.equal(body.role, 'staff');
      // Staff are not shown the owners' pages.
      assert.equal(await p2.locator('.nav__link[href="/admin/audit"]').count(), 0);
      assert.equal(await p2.locator('.nav__link[href="/admin/admins"]').count(), 0);
      // The owner disables them (asked first): their session ends at once.
      await row.locator('[data-testid=admin-disable]').click();
      await page.locator('[data-testid=confirm-yes]').click();
      await page.locator('[data-testid=admin][data-disabled=true]', { hasText: email }).waitFor();
      assert.equal((await adminGet(p2, '/api/admin/me')).status, 401);
      assert.deepEqual(errs2, []);
    } finally {
      await theirs.close();
    }
    assert.deepEqual(errors, []);
  });

  test('product images: upload three, reorder, remove; kept after a reload', async () => {
    const { body: list } = await adminGet(page, '/api/admin/products?limit=5');
    const id = list.items[0].id;
    await page.goto(`/admin/products/${id}`);
    await page.locator('[data-testid=images]').waitFor();
    const { body: detail } = await adminGet(page, `/api/admin/products/${id}`);
    const start = detail.images.length;

    for (const [i, size] of [[1, [160, 120]], [2, [120, 160]], [3, [140, 140]]]) {
      await page.locator('[data-testid=image-file]').setInputFiles({
        name: `photo-${i}.png`,
        mimeType: 'image/png',
        buffer: makePng(...size),
      });
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=image]').length === n, start + i);
    }
    await imagesLoaded(page);
    const uploaded = await shownImages(page);
    assert.equal(uploaded.length, start + 3);
    assert.equal(new Set(uploaded).size, uploaded.length, 'three different files');
    const [a, b, c] = uploaded.slice(start);

    // Move the last one up twice in a row (each click as soon as the arrow is enabled), then
    // remove the one now second to last.
    const tile = (src) => page.locator('[data-testid=image]', { has: page.locator(`img[src="${src}"]`) });
    await tile(c).locator('[data-testid=image-up]').click();
    await tile(c).locator('[data-testid=image-up]').click();
    const moved = [...uploaded.slice(0, start), c, a, b];
    const showsOrder = (want) =>
      page.waitForFunction(
        (w) => JSON.stringify([...document.querySelectorAll('[data-testid=image] img')].map((e) => new URL(e.src).pathname)) === w,
        JSON.stringify(want),
        { timeout: 10_000 },
      );
    await showsOrder(moved);
    const { body: afterMoves } = await adminGet(page, `/api/admin/products/${id}`);
    assert.deepEqual(afterMoves.images, moved, 'both moves saved');
    await tile(a).locator('[data-testid=image-remove]').click();
    const last = [...uploaded.slice(0, start), c, b];
    await showsOrder(last);

    await page.reload();
    await page.locator('[data-testid=image]').first().waitFor();
    await imagesLoaded(page);
    assert.deepEqual(await shownImages(page), last);
    const { body: saved } = await adminGet(page, `/api/admin/products/${id}`);
    assert.deepEqual(saved.images, last);
    const { body: pub } = await shop.api(`/api/products/${id}?lang=en`);
    assert.deepEqual(pub.images, last, 'the storefront shows the same order');

    assert.ok((await horizontalOverflow(page)) <= 0, 'nothing scrolls sideways');
    // Each tile shows all three of its buttons (none cut off by the tile's edge).
    const clipped = await page.locator('[data-testid=image]').evaluateAll((tiles) =>
      tiles.filter((t) => {
        const tile = t.getBoundingClientRect();
        return [...t.querySelectorAll('button')].some((b) => b.getBoundingClientRect().right > tile.right + 0.5);
      }).length,
    );
    assert.equal(clipped, 0, 'every button fits inside its tile');
    await page.locator('[data-testid=images]').scrollIntoViewIfNeeded();
    await screenshot(page, 'admin-images-phone');
    assert.deepEqual(errors, []);
  });
});
