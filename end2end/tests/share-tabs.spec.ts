// The fix when HTTP/2 is not available: `?share=tabs`. The tabs elect a leader (Web Locks), the
// leader holds one EventSource per topic and relays events to the others (BroadcastChannel).
// Run on the HTTP/1.1-only listener, where ten tabs of two widgets each would otherwise need
// twenty of the browser's six connections.
import { test, expect, type Page } from "@playwright/test";
import { eventsPass, http1, hydrated, setHidden } from "../support";

const TABS = 10;

// Ten live tabs on two cores: small windows with the widgets below the fold and no row-flash
// animations (the page honours reduced motion), so the browser spends its time on the events
// under test, not on painting ten dashboards. (Minimising the windows would be truer to life,
// but headless Chromium keeps minimised pages visible.)
test.use({ reducedMotion: "reduce", viewport: { width: 480, height: 320 } });
const url = `${http1}/?share=tabs&widgets=watchlist,movers`;

/** Tabs whose widgets say this tab holds the streams. */
async function leaders(tabs: Page[]) {
  const found: Page[] = [];
  for (const tab of tabs) if ((await tab.locator('section.widget[data-share="leader"]').count()) > 0) found.push(tab);
  return found;
}

/** The server's count of streams on HTTP/1.1 connections, asked over HTTP/2. */
async function http1Streams(request: import("@playwright/test").APIRequestContext) {
  const stats = await (await request.get("/api/stats")).json();
  return stats.connections
    .filter((c: { protocol: string }) => c.protocol === "http/1.1")
    .reduce((sum: number, c: { streams: number }) => sum + c.streams, 0);
}

test(`?share=tabs over HTTP/1.1: ${TABS} tabs live on one stream per topic, and a closed leader hands over with no gap`, async ({ context, request }) => {
  test.setTimeout(120_000);
  const tabs: Page[] = [];
  for (let i = 0; i < TABS; i++) {
    const tab = await context.newPage();
    await tab.goto(url);
    await hydrated(tab);
    tabs.push(tab);
  }

  // Every tab is live: both widgets open, and events keep arriving.
  for (const tab of tabs) {
    await expect(tab.locator('section.widget[data-state="open"]')).toHaveCount(2);
    await eventsPass(tab, "watchlist", 10);
  }
  // One leader; the server holds one stream per topic for all ten tabs.
  expect(await leaders(tabs)).toHaveLength(1);
  await expect.poll(() => http1Streams(request)).toBe(2);

  // Close the leader: another tab takes the lock, reopens both streams from its last ids, and
  // the relay goes on.
  const [leader] = await leaders(tabs);
  const rest = tabs.filter((tab) => tab !== leader);
  const closed = Date.now();
  await leader.close();
  await expect.poll(async () => (await leaders(rest)).length, { timeout: 10_000 }).toBe(1);
  console.log(`share=tabs: a new leader took over ${Date.now() - closed} ms after the old one closed`);

  for (const tab of rest) {
    await eventsPass(tab, "watchlist", 20);
    await eventsPass(tab, "movers", 1);
    // Contiguous: a relayed widget applies only the next id (anything that skips ahead is held
    // back until the leader sends what is missing), so advancing past the hand-over means
    // nothing was lost; and none ever applied a gap.
    for (const widget of await tab.locator("section.widget").all()) {
      await expect(widget).toHaveAttribute("data-gaps", "0");
      await expect(widget).toHaveAttribute("data-state", "open");
    }
  }
  await expect.poll(() => http1Streams(request)).toBe(2);
});

test("?share=tabs: a leader whose tab hides hands over to a visible tab; with every tab hidden no stream is open", async ({ context, request }) => {
  test.setTimeout(90_000);
  const tabs: Page[] = [];
  for (let i = 0; i < 2; i++) {
    const tab = await context.newPage();
    await tab.goto(url);
    await hydrated(tab);
    await expect(tab.locator('section.widget[data-state="open"]')).toHaveCount(2);
    tabs.push(tab);
  }
  await expect.poll(async () => (await leaders(tabs)).length).toBe(1);
  const [leader] = await leaders(tabs);
  const other = tabs.find((tab) => tab !== leader)!;

  // The leader's tab hides: within the 2 s grace and a moment, the visible tab leads and holds
  // the streams; the hidden one follows, still fed through the channel (no network of its own).
  const hid = Date.now();
  await setHidden(leader, true);
  await expect(other.locator('section.widget[data-share="leader"]')).toHaveCount(2, { timeout: 5_000 });
  console.log(`share=tabs: the visible tab took over ${Date.now() - hid} ms after the leader's tab hid`);
  await expect(leader.locator('section.widget[data-share="follower"]')).toHaveCount(2);
  await expect.poll(() => http1Streams(request)).toBe(2);
  await eventsPass(other, "watchlist", 5);
  await eventsPass(leader, "watchlist", 5);
  for (const tab of tabs) for (const widget of await tab.locator("section.widget").all()) await expect(widget).toHaveAttribute("data-gaps", "0");

  // Both hidden: nobody leads, the server holds no stream for them.
  await setHidden(other, true);
  await expect.poll(() => http1Streams(request), { timeout: 5_000, intervals: [250] }).toBe(0);
  expect(await leaders(tabs)).toHaveLength(0);

  // One shown again: it stands, leads, reopens from its last ids, and is live without a gap.
  await setHidden(other, false);
  await expect(other.locator('section.widget[data-share="leader"]')).toHaveCount(2, { timeout: 10_000 });
  await expect.poll(() => http1Streams(request)).toBe(2);
  await eventsPass(other, "watchlist", 5);
  for (const widget of await other.locator("section.widget").all()) await expect(widget).toHaveAttribute("data-gaps", "0");
});
