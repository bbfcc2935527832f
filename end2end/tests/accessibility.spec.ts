// An accessibility engine (axe-core, through @axe-core/playwright) over the dashboard, the
// fault panel, /ops and an embed page, in both themes: no serious or critical violation.
// Price changes are not announced one by one (see docs/browser.md): the tables are not live
// regions, so a screen reader reads them when asked instead of drowning in ticks.
import { test, expect } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { hydrated } from "../support";

const pages = ["/", "/faults", "/ops", "/embed/watchlist"];

for (const scheme of ["dark", "light"] as const) {
  for (const path of pages) {
    test(`${path} in the ${scheme} theme: no serious or critical accessibility violation`, async ({ page }) => {
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto(path);
      await hydrated(page);
      const results = await new AxeBuilder({ page }).analyze();
      const grave = results.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => ({ rule: v.id, impact: v.impact, nodes: v.nodes.length, first: v.nodes[0]?.target.join(" "), why: v.nodes[0]?.failureSummary }));
      expect(grave).toEqual([]);
    });
  }
}
