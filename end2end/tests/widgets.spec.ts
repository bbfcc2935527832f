// The widgets: server-rendered rows, then live updates over each widget's own EventSource.
import { test, expect } from "@playwright/test";

const hydrated = (page: import("@playwright/test").Page) =>
  expect(page.locator("main")).toHaveAttribute("data-hydrated", "true");

test.describe("with JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  test("every topic's widget is in the HTML with its rows", async ({ page, request }) => {
    const topics: string[] = await (await request.get("/api/topics")).json();
    await page.goto("/");
    const widgets = page.locator("section.widget");
    await expect(widgets).toHaveCount(topics.length);
    for (const topic of topics) {
      const rows = page.locator(`section.widget[data-topic="${topic}"] tbody tr`);
      expect(await rows.count(), topic).toBeGreaterThan(0);
    }
    // The article's watchlist: ten stocks in the first response.
    await expect(page.locator('section.widget[data-topic="watchlist"] tbody tr')).toHaveCount(10);
  });
});

test("the URL chooses the widgets: a list of topics, repeated up to a count", async ({ page }) => {
  await page.goto("/?widgets=watchlist,movers&count=5");
  const topics = await page.locator("section.widget").evaluateAll((sections) =>
    sections.map((s) => s.getAttribute("data-topic")),
  );
  expect(topics).toEqual(["watchlist", "movers", "watchlist", "movers", "watchlist"]);
});

test("after hydration every widget opens its stream and receives events after its snapshot", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  const widgets = page.locator("section.widget");
  const count = await widgets.count();
  expect(count).toBeGreaterThan(0);
  for (let i = 0; i < count; i++) {
    const widget = widgets.nth(i);
    const ssrId = await widget.getByTestId("last-event-id").textContent();
    await expect(widget).toHaveAttribute("data-state", "open");
    // The id moves past the snapshot's: live events arrived (the market ticks every 300 ms).
    await expect(widget.getByTestId("last-event-id")).not.toHaveText(ssrId!, { timeout: 15_000 });
    await expect(widget.getByTestId("ready-state")).toHaveText("open");
  }
});
