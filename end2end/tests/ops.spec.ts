// The ops page: this instance's numbers arrive once a second on their own event stream, and
// they agree with the server's /api/stats.
import { test, expect } from "@playwright/test";
import { hydrated } from "../support";

test("the ops page's counters come on its own stream and match /api/stats", async ({ page, request }) => {
  await page.goto("/ops");
  await hydrated(page);
  const panel = page.locator('section.widget[data-topic="ops"]');
  await expect(panel).toHaveAttribute("data-state", "open");
  // Two samples: the sparkline has something to draw, and the rates a full second behind them.
  await expect(page.getByTestId("ops-instance")).not.toHaveText("…", { timeout: 5_000 });

  const stats = await (await request.get("/api/stats")).json();
  await expect(page.getByTestId("ops-instance")).toHaveText(stats.instance);
  // This page is the only client: its one stream (the ops stream itself) on one h2 connection.
  const streams = stats.connections.reduce((sum: number, c: { streams: number }) => sum + c.streams, 0);
  await expect(page.getByTestId("ops-streams")).toHaveText(String(streams));
  await expect(page.getByTestId("ops-streams-per-connection")).toHaveText("1.0");
  // The market ticks: the published rate is above zero within a few samples.
  await expect.poll(async () => Number(await page.getByTestId("ops-published").textContent()), { timeout: 10_000 }).toBeGreaterThan(0);
  await page.screenshot({ path: "screenshots/ops.png", fullPage: true });
});
