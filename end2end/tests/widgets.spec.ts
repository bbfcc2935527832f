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
  // Evidence for humans: the live dashboard, as headless Chromium rendered it.
  await page.screenshot({ path: "screenshots/dashboard-live.png", fullPage: true });
});

test("removing a widget closes its stream: the server's registry counts one fewer", async ({ page }) => {
  await page.goto("/?widgets=watchlist,movers,indices");
  await hydrated(page);
  const widgets = page.locator("section.widget");
  await expect(widgets).toHaveCount(3);
  for (let i = 0; i < 3; i++) await expect(widgets.nth(i)).toHaveAttribute("data-state", "open");
  const connection = Number(await page.getByTestId("page-connection-id").textContent());

  // The server's view of this page's connection, asked from the page itself (same connection).
  const streamsOnThisConnection = () =>
    page.evaluate(async (id) => {
      const stats = await (await fetch("/api/stats")).json();
      return stats.connections.find((c: { id: number }) => c.id === id)?.streams;
    }, connection);

  await expect.poll(streamsOnThisConnection).toBe(3);
  await page.getByRole("button", { name: "Remove the movers widget" }).click();
  await expect(widgets).toHaveCount(2);
  await expect.poll(streamsOnThisConnection).toBe(2);
});

test("the page strip shows the server counting every widget's stream on one connection", async ({ page }) => {
  await page.goto("/?widgets=watchlist,movers,indices,sector/energy&count=8");
  await expect(page.locator("main")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("streams-strip")).toHaveText("8 streams on 1 connection");
});
