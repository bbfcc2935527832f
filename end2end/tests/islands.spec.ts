// Every widget an island (src/widgets/islands.rs): the page is the server's HTML, and only the
// widgets hydrate, each alone, each with its own stream — and one that cannot read its stream
// does not take the others down.
import { test, expect, type Page } from "@playwright/test";
import { hydrated } from "../support";

/** The island (leptos's `data-component`, its name before the hash) around each element matching `selector`. */
const islandsAround = (page: Page, selector: string) =>
  page.locator(selector).evaluateAll((elements) =>
    elements.map((element) => element.closest("leptos-island")?.getAttribute("data-component")?.replace(/_\d+$/, "") ?? null),
  );

test("the dashboard is static HTML around islands: each widget, the strip, the ping, the ticket and the portfolio hydrate on their own", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);

  // The static parts belong to no island: the browser never runs code for them.
  expect(await islandsAround(page, "header.masthead, [data-testid=page-connection]")).toEqual([null, null]);

  // Each topic's widget is an island of its own — one island element per widget.
  const widgets = page.locator("section.widget");
  const count = await widgets.count();
  expect(count).toBeGreaterThan(1);
  expect(await islandsAround(page, "section.widget")).toEqual(Array(count).fill("WidgetIsland"));
  const widgetIslands = await page
    .locator("section.widget")
    .evaluateAll((elements) => new Set(elements.map((element) => element.closest("leptos-island"))).size);
  expect(widgetIslands, "one island per widget").toBe(count);

  // And so are the other live parts, each its own kind.
  expect(await islandsAround(page, "[data-testid=streams-strip], section.ping, section.ticket, section.portfolio")).toEqual([
    "StreamsStrip",
    "Ping",
    "OrderTicket",
    "Portfolio",
  ]);
  // What they share (the stats, each widget's instance) comes from the one island around them.
  const outer = await page
    .locator("leptos-island")
    .evaluateAll((islands) => islands.filter((island) => !island.parentElement?.closest("leptos-island")).map((island) => island.getAttribute("data-component")?.replace(/_\d+$/, "")));
  expect(outer).toEqual(["PageContext"]);

  // Hydrated means every island has: the widgets are live, the strip counts them.
  await expect(page.locator('section.widget[data-state="open"]')).toHaveCount(count);
  await expect(page.getByTestId("streams-strip")).toHaveText(`${count + 1} streams on 1 connection`);
});

test("a widget's × hides its own island and closes its stream; the other islands stay live", async ({ page }) => {
  await page.goto("/?widgets=watchlist,movers,indices");
  await hydrated(page);
  await expect(page.getByTestId("streams-strip")).toHaveText("3 streams on 1 connection");
  await page.getByRole("button", { name: "Remove the movers widget" }).click();
  await expect(page.locator('section.widget[data-topic="movers"]')).toHaveCount(0);
  await expect(page.getByTestId("streams-strip")).toHaveText("2 streams on 1 connection");
  // The others still move.
  const id = page.locator('section.widget[data-topic="watchlist"]').getByTestId("last-event-id");
  const before = await id.textContent();
  await expect(id).not.toHaveText(before!);
});

test("one widget fed events it cannot read shows why and skips them; every other widget stays live", async ({ page }) => {
  // The watchlist's stream, and only it, answered by something broken between the server and
  // the browser: a hello that is not JSON, an update for no known shape, an add with an id that
  // is not an id. (In the wasm a panic would stop every island on the page: `panic = "abort"`.)
  const broken = [
    "retry: 600000",
    "event: hello\ndata: {not json",
    "event: update\nid: 9999999999-1\ndata: {\"symbol\": 12}",
    "event: add\nid: not-an-id\ndata: {}",
    "event: remove\nid: 9999999999-2\ndata: [1,2,3]",
    "",
  ].join("\n\n");
  await page.route(/\/api\/topics\/watchlist\/events/, (route) =>
    route.fulfill({ status: 200, headers: { "content-type": "text/event-stream", "cache-control": "no-cache" }, body: broken }),
  );
  await page.goto("/?widgets=watchlist,movers,indices");
  await hydrated(page);

  const watchlist = page.locator('section.widget[data-topic="watchlist"]');
  await expect(watchlist).toHaveAttribute("data-rejected", "4");
  await expect(watchlist.getByTestId("rejected")).toContainText("4 unreadable, skipped (remove:");
  // Its rows are still the server's snapshot.
  expect(await watchlist.locator("tbody tr").count()).toBeGreaterThan(0);

  // The other islands: open, and their ids keep moving.
  for (const topic of ["movers", "indices"]) {
    const widget = page.locator(`section.widget[data-topic="${topic}"]`);
    await expect(widget).toHaveAttribute("data-state", "open");
    await expect(widget).toHaveAttribute("data-rejected", "0");
    const id = widget.getByTestId("last-event-id");
    const before = await id.textContent();
    await expect(id).not.toHaveText(before!);
  }
  // And the page's other islands still answer.
  await page.getByTestId("ping").click();
  await expect(page.getByTestId("ping-result")).toHaveText(/^Answered in \d+ ms on connection \d+ over h2\.$/);
});
