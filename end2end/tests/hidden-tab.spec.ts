// A hidden tab holds no streams: every widget closes its EventSource a moment after the tab is
// hidden (the server's own count drops to 0), the strip says "paused", and on return each
// widget resumes from its last id — nothing lost, nothing repeated, no reset.
import { test, expect } from "@playwright/test";
import { hydrated, parseId, recordEventSources, setHidden } from "../support";

test("hidden, the page's streams close within 5 s (the server counts 0); shown, they resume from their last ids", async ({ page, context, request }) => {
  test.setTimeout(60_000);
  const { requests, messages } = await recordEventSources(context, page);
  await page.goto("/?widgets=watchlist,movers");
  await hydrated(page);
  const widgets = page.locator("section.widget");
  await expect(page.locator('section.widget[data-state="open"]')).toHaveCount(2);
  await expect.poll(() => messages.filter((m) => m.event === "update").length).toBeGreaterThanOrEqual(4);
  // The server's own count of every open stream (this page's are the only ones).
  const streams = async () => {
    const stats = await (await request.get("/api/stats")).json();
    return (stats.connections as { streams: number }[]).reduce((sum, c) => sum + c.streams, 0);
  };
  expect(await streams()).toBeGreaterThanOrEqual(2);

  await setHidden(page, true);
  const hiddenAt = Date.now();
  await expect.poll(streams, { timeout: 5_000, intervals: [250] }).toBe(0);
  expect(Date.now() - hiddenAt).toBeLessThanOrEqual(5_000);
  await expect(page.getByTestId("streams-strip")).toHaveAttribute("data-paused", "true");
  await expect(page.getByTestId("streams-strip")).toContainText("paused");
  await expect(page.locator('section.widget[data-state="paused"]')).toHaveCount(2);
  // The market moves on while the tab is away.
  const updatesBefore = messages.filter((m) => m.event === "update").length;

  await setHidden(page, false);
  await expect(page.locator('section.widget[data-state="open"]')).toHaveCount(2);
  await expect.poll(streams).toBeGreaterThanOrEqual(2);
  await expect.poll(() => messages.filter((m) => m.event === "update").length).toBeGreaterThan(updatesBefore + 4);
  await expect(widgets.getByTestId("badge").filter({ hasText: /^resumed \d+$/ })).toHaveCount(2);
  expect(messages.filter((m) => m.event === "reset")).toHaveLength(0);

  // On the wire, per topic: live ids one after another across the pause, in one epoch.
  const topicOf = new Map(requests.map((r) => [r.requestId, new URL(r.url).pathname]));
  const seqs = new Map<string, { epoch: string; seq: number }[]>();
  for (const m of messages.filter((m) => ["add", "update", "remove"].includes(m.event) && m.id)) {
    const topic = topicOf.get(m.requestId)!;
    if (!topic.startsWith("/api/topics/")) continue;
    seqs.set(topic, [...(seqs.get(topic) ?? []), parseId(m.id)]);
  }
  expect([...seqs.keys()].sort()).toEqual(["/api/topics/movers/events", "/api/topics/watchlist/events"]);
  for (const [topic, ids] of seqs) {
    expect(new Set(ids.map((id) => id.epoch)).size, topic).toBe(1);
    expect(ids.map((id) => id.seq), topic).toEqual(ids.map((_, i) => ids[0].seq + i));
  }
  // Each topic was opened twice: once on load, once on return.
  for (const topic of seqs.keys()) expect(requests.filter((r) => new URL(r.url).pathname === topic)).toHaveLength(2);
});
