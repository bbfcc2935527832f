// The widgets: server-rendered rows, then live updates over each widget's own EventSource.
import { test, expect } from "@playwright/test";
import { drill, hydrated, parseId, recordEventSources, serverSymbols, symbolsOf } from "../support";

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
  // Evidence for humans: the live dashboard, as headless Chromium rendered it (wide enough for
  // three widgets a row).
  await page.setViewportSize({ width: 1500, height: 900 });
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
  await hydrated(page);
  await expect(page.getByTestId("streams-strip")).toHaveText("8 streams on 1 connection");
});

test("adds and removes show up: a watchlist rotation takes one row out and puts another in", async ({ page, request }) => {
  await page.goto("/?widgets=watchlist");
  await hydrated(page);
  const widget = page.locator('section.widget[data-topic="watchlist"]');
  await expect(widget).toHaveAttribute("data-state", "open");
  const before = await symbolsOf(page, "watchlist");
  expect(before).toHaveLength(10);

  await drill(request, "rotate-watchlist"); // answers once the remove and add are published
  const after = await serverSymbols(request, "watchlist");
  const left = before.filter((s) => !after.includes(s));
  const joined = after.filter((s) => !before.includes(s));
  expect(left.length, "the server removed a member").toBeGreaterThan(0);
  expect(joined.length, "the server added a member").toBeGreaterThan(0);

  // The widget applied both events: the leaver's row is gone, the newcomer's row is there.
  for (const symbol of left) await expect(widget.locator(`tr[data-symbol="${symbol}"]`)).toHaveCount(0);
  for (const symbol of joined) await expect(widget.locator(`tr[data-symbol="${symbol}"]`)).toHaveCount(1);
  await expect(widget.locator("tbody tr")).toHaveCount(10);
});

test("a dropped stream resumes from its last event id: nothing lost, nothing repeated", async ({ page, context, request }) => {
  const { requests, messages } = await recordEventSources(context, page);
  await page.goto("/?widgets=watchlist");
  await hydrated(page);
  const widget = page.locator('section.widget[data-topic="watchlist"]');
  const live = () => messages.filter((m) => ["add", "update", "remove"].includes(m.event));

  // The first request resumes from the id the server-rendered rows were taken at.
  await expect.poll(() => requests.length).toBe(1);
  const ssrId = new URL(requests[0].url).searchParams.get("last_event_id")!;
  await expect.poll(() => live().length).toBeGreaterThanOrEqual(3);

  await drill(request, "drop-streams");
  // The browser reconnects by itself (after the stream's `retry:`), sending Last-Event-ID.
  await expect.poll(() => requests.length).toBe(2);
  await expect(widget.getByTestId("ready-state")).toHaveText("open");
  await expect(widget.getByTestId("badge")).toHaveText(/^resumed \d+$/);
  await expect(widget.getByTestId("reconnects")).toHaveText("1 reconnect");

  const beforeDrop = live().filter((m) => m.requestId === requests[0].requestId);
  await expect.poll(() => requests[1].lastEventId).toBe(beforeDrop[beforeDrop.length - 1].id);
  await expect.poll(() => live().filter((m) => m.requestId === requests[1].requestId).length).toBeGreaterThanOrEqual(3);

  // Every event across both requests, in order: one epoch, each seq one more than the last,
  // starting right after the server-rendered snapshot.
  const ids = live().map((m) => parseId(m.id));
  const start = parseId(ssrId);
  expect(new Set(ids.map((id) => id.epoch))).toEqual(new Set([start.epoch]));
  expect(ids.map((id) => id.seq)).toEqual(ids.map((_, i) => start.seq + 1 + i));
  // And the widget shows the newest of them.
  await expect
    .poll(async () => (await widget.getByTestId("last-event-id").textContent()) === live()[live().length - 1].id)
    .toBe(true);
});

test("a reset clears every widget and rebuilds it from a fresh snapshot", async ({ page, context, request }) => {
  const { messages } = await recordEventSources(context, page);
  await page.goto("/?widgets=watchlist,movers");
  await hydrated(page);
  const widgets = page.locator("section.widget");
  for (let i = 0; i < 2; i++) await expect(widgets.nth(i)).toHaveAttribute("data-state", "open");
  const oldEpoch = parseId((await widgets.nth(0).getByTestId("last-event-id").textContent())!).epoch;

  // A new epoch, as after a server restart: the browsers' ids are from another run.
  await drill(request, "restart");
  for (const [topic, members] of [["watchlist", 10], ["movers", 5]] as const) {
    const widget = page.locator(`section.widget[data-topic="${topic}"]`);
    await expect(widget.getByTestId("badge")).toHaveText("reset: server restarted");
    await expect(widget.locator("tbody tr")).toHaveCount(members);
    await expect(widget.getByTestId("last-event-id")).not.toHaveText(new RegExp(`^${oldEpoch}-`));
    // The rebuilt rows are the server's members now. Both sides are read on every try: the
    // movers change members as prices move, so a list read once goes stale.
    await expect
      .poll(async () => {
        const [shown, served] = await Promise.all([symbolsOf(page, topic), serverSymbols(request, topic)]);
        return shown.join() === served.join() ? "same" : `page ${shown.join()} ≠ server ${served.join()}`;
      })
      .toBe("same");
  }
  // What the browser received: `reset`, then the snapshot's adds, then `sync` at the new epoch.
  const reset = messages.findIndex((m) => m.event === "reset");
  expect(reset).toBeGreaterThan(-1);
  const next = messages.slice(reset + 1);
  expect(next[0].event).toBe("add");
  const sync = next.find((m) => m.event === "sync")!;
  expect(parseId(sync.id).epoch).not.toBe(oldEpoch);
});
