// A rolling deploy puts pages of the old build on streams served by the new one (docs/cluster.md, "The
// edge"): an event kind the page does not know must be ignored, never break the widget. The
// future-event drill sends one on every open stream, as a newer build might.
import { test, expect } from "@playwright/test";
import { drill, eventsPass, hydrated, recordEventSources } from "../support";

test("an event kind this page does not know is ignored, and the widget goes on", async ({ page, context, request }) => {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  const { messages } = await recordEventSources(context, page);
  await page.goto("/?widgets=watchlist");
  await hydrated(page);
  const widget = page.locator('section.widget[data-topic="watchlist"]');
  await expect(widget).toHaveAttribute("data-state", "open");

  await drill(request, "future-event");
  // The browser received it (CDP sees every message, listened for or not)...
  await expect.poll(() => messages.filter((m) => m.event === "from-the-future").length).toBeGreaterThan(0);
  // ...and the widget went on as if it had not: still open, never reconnected, still applying.
  await eventsPass(page, "watchlist", 2);
  await expect(widget).toHaveAttribute("data-state", "open");
  await expect(widget.getByTestId("reconnects")).toHaveCount(0);
  expect(errors).toEqual([]);
});
