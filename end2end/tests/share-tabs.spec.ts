// The fix when HTTP/2 is not available: `?share=tabs`. The tabs elect a leader (Web Locks), the
// leader holds one EventSource per topic and relays events to the others (BroadcastChannel).
// Run on the HTTP/1.1-only listener, where ten tabs of two widgets each would otherwise need
// twenty of the browser's six connections.
import { test, expect, type Page } from "@playwright/test";
import { eventsPass, http1, hydrated } from "../support";

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
