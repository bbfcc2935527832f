// Light and dark: the page follows the visitor's `prefers-color-scheme`, dark when it states
// none. Each theme's screenshot goes to end2end/screenshots (scripts/screenshots copies them).
import { test, expect } from "@playwright/test";
import { hydrated } from "../support";

const themes = [
  { scheme: "dark", background: "rgb(15, 20, 25)", text: "rgb(230, 237, 243)" },
  { scheme: "light", background: "rgb(255, 255, 255)", text: "rgb(31, 35, 40)" },
] as const;

for (const { scheme, background, text } of themes) {
  test(`prefers-color-scheme: ${scheme} gives the ${scheme} page`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto("/?widgets=watchlist,movers,indices");
    await hydrated(page);
    const colors = await page.evaluate(() => {
      const style = getComputedStyle(document.documentElement);
      return { background: style.backgroundColor, text: style.color };
    });
    expect(colors).toEqual({ background, text });
    await expect(page.locator('section.widget[data-state="open"]')).toHaveCount(3);
    await page.screenshot({ path: `screenshots/dashboard-${scheme}.png` });
  });
}
