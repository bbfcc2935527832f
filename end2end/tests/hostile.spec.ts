// Hostile pages and a strict policy, from a real browser.
//
// 1. Cross-site request forgery: a page on another site (a small server of this test's own on
//    http://127.0.0.1, a different site from the app's https://localhost) auto-submits forms at
//    the order server function and at a drill. The browser sends them, with its cookies and
//    `Sec-Fetch-Site: cross-site`; the server answers 403, and nothing happened: no fill, no
//    dropped stream on a dashboard open in another tab.
// 2. Content-Security-Policy: the dashboard, the HTTP/1.1 page and share-tabs mode stream and
//    trade with zero `securitypolicyviolation` events and no console errors.
// 3. "Stop reconnecting": an events URL answering 204 stops its widget for good, and it says so.
import { test, expect, type Page } from "@playwright/test";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { drill, eventsPass, http1, hydrated, orderFirstListed, recordEventSources } from "../support";

/** A page on another site whose form posts `fields` to `action` as soon as it loads. */
function attackPage(action: string, fields: Record<string, string>) {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input name="${name}" value="${value}">`)
    .join("");
  return `<!doctype html><title>elsewhere</title>
<form method="post" action="${action}">${inputs}</form>
<script>document.forms[0].submit()</script>`;
}

/** Serves `html` at http://127.0.0.1:<port>/ until closed. */
async function otherSite(html: string): Promise<{ url: string; server: Server }> {
  const server = createServer((_, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    response.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

test("a cross-site form aimed at Buy or at a drill is refused (403) and changes nothing", async ({ page, context, baseURL }) => {
  // A dashboard in another tab: its stream must survive the drill the attacker aims at it.
  const dashboard = await context.newPage();
  await dashboard.goto("/?widgets=watchlist");
  await hydrated(dashboard);
  const widget = dashboard.locator('section.widget[data-topic="watchlist"]');
  await expect(widget).toHaveAttribute("data-state", "open");

  const attacks: [string, Record<string, string>][] = [
    [`${baseURL}/api/place_order`, { symbol: "HELIO", side: "Buy", quantity: "10" }],
    [`${baseURL}/api/drills/drop-streams`, {}],
  ];
  for (const [action, fields] of attacks) {
    const { url, server } = await otherSite(attackPage(action, fields));
    try {
      const answered = page.waitForResponse((r) => r.url() === action && r.request().method() === "POST");
      await page.goto(url);
      const response = await answered;
      expect(response.status(), action).toBe(403);
      expect((await response.request().allHeaders())["sec-fetch-site"], action).toBe("cross-site");
      const reason = await response.text();
      expect(reason, action).toMatch(/cross-site|another site|origin/i);
      expect(reason, action).not.toMatch(/Bought|Sold/);
    } finally {
      server.close();
    }
  }
  // Nothing happened on our side: the dashboard's stream was never dropped (still open, no
  // reconnect counted), and it is still receiving.
  await eventsPass(dashboard, "watchlist", 2);
  await expect(widget).toHaveAttribute("data-state", "open");
  await expect(widget.getByTestId("reconnects")).toHaveCount(0);
});

/** Collects CSP violations (from the document) and console errors, from before the first script. */
async function watchForViolations(page: Page) {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.addInitScript(() => {
    (window as unknown as { __violations: string[] }).__violations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
      (window as unknown as { __violations: string[] }).__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  return async () => ({
    violations: await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations),
    errors,
  });
}

for (const [what, url] of [
  ["the dashboard over h2", "/?widgets=watchlist,movers"],
  ["the HTTP/1.1 page", `${http1}/?widgets=watchlist`],
  ["share-tabs mode", `${http1}/?share=tabs&widgets=watchlist`],
]) {
  test(`${what}: streaming and trading with 0 CSP violations and no console errors`, async ({ page }) => {
    const seen = await watchForViolations(page);
    const response = await page.goto(url);
    expect(response!.headers()["content-security-policy"]).toContain("'strict-dynamic'");
    await hydrated(page);
    await eventsPass(page, "watchlist", 2);
    await orderFirstListed(page, "buy", 5, (symbol) => new RegExp(`^Bought 5 ${symbol} `));
    expect(await seen()).toEqual({ violations: [], errors: [] });
  });
}

test("a 204 from the events URL stops the widget: shown as stopped, and never retried", async ({ page, context, request }) => {
  // The page's timers on a clock the test moves: the widget's reopen backoff (up to 30 s) can
  // then be run out in an instant, so "never retried" is checked, not waited for.
  await page.clock.install();
  const { requests } = await recordEventSources(context, page);
  await page.goto("/?widgets=watchlist");
  await hydrated(page);
  const widget = page.locator('section.widget[data-topic="watchlist"]');
  await expect(widget).toHaveAttribute("data-state", "open");
  try {
    await drill(request, "stop-streams");
    // The stream drops, the browser reconnects by itself, gets 204 and gives up; the widget
    // asks the URL once, sees the 204, and stops.
    await expect(widget).toHaveAttribute("data-state", "stopped");
    await expect(widget.getByTestId("ready-state")).toHaveText("stopped");
  } finally {
    await drill(request, "resume-streams");
  }
  // Even with the server answering again, a stopped widget stays stopped: run out every timer
  // the page has (the longest backoff is 30 s) and no EventSource is opened again.
  const opened = requests.length;
  await page.clock.runFor(120_000);
  await expect(widget).toHaveAttribute("data-state", "stopped");
  expect(requests.length).toBe(opened);
});
