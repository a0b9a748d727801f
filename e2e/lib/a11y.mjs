// Accessibility checks in the page: axe-core (Deque's rule engine, the one browser devtools
// use) injected as a script, and a keyboard walk that every focus stop shows an outline.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
// Evaluated through the DevTools protocol rather than added as a <script> tag: the shop's
// Content-Security-Policy (rightly) refuses inline scripts it did not write.
const AXE_SOURCE = readFileSync(AXE, 'utf8');

/**
 * Runs axe-core on the page as it is now; answers the serious and critical violations as
 * readable lines (`rule: message @ selector`), empty when there are none.
 */
export async function seriousViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(AXE_SOURCE);
  }
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .flatMap((v) =>
        v.nodes.map((n) => `${v.id} (${v.impact}): ${n.failureSummary.replace(/\s+/g, ' ')} @ ${n.target.join(' ')}`),
      );
  });
  return violations;
}

/**
 * Presses Tab `stops` times from the top of the page; answers the focus stops whose focus is
 * not visible (no outline and no box-shadow), as `tag.class "text"`.
 */
export async function invisibleFocus(page, stops = 8) {
  // Start from the top of the document, wherever focus was.
  await page.evaluate(() => {
    const root = document.documentElement;
    root.setAttribute('tabindex', '-1');
    root.focus();
    root.removeAttribute('tabindex');
    window.scrollTo(0, 0);
  });
  const bad = [];
  for (let i = 0; i < stops; i++) {
    await page.keyboard.press('Tab');
    const r = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const s = getComputedStyle(el);
      const outlined = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1;
      const shadowed = s.boxShadow && s.boxShadow !== 'none';
      const name = `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} "${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30)}"`;
      return { visible: outlined || shadowed, name };
    });
    if (r && !r.visible) bad.push(r.name);
    if (process.env.A11Y_DEBUG && r) console.log('focus stop:', r.name);
  }
  return bad;
}
