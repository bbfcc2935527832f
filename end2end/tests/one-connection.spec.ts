// The claim in the name: every widget's stream, and everything else the page loads or sends,
// on ONE HTTP/2 connection — as the browser itself reports it (Chrome DevTools Protocol, the
// data behind the Network panel's Protocol and Connection ID columns) and as the server counts it.
import { test, expect } from "@playwright/test";
import { hydrated, networkLog, orderFirstListed, screenshotNetwork, type NetworkRow } from "../support";

for (const count of [8, 24]) {
  test(`${count} widgets: document, wasm, JS, CSS, every EventSource and a Buy share one h2 connection`, async ({ page, context }) => {
    const log = await networkLog(context, page);

    await page.goto(`/?count=${count}`);
    await hydrated(page);
    const widgets = page.locator("section.widget");
    await expect(widgets).toHaveCount(count);
    await expect(page.locator('section.widget[data-state="open"]')).toHaveCount(count);

    // A Buy: a server-function call (POST) on the same origin.
    await orderFirstListed(page, "buy", 10, (symbol) => new RegExp(`^Bought 10 ${symbol} `));

    const pageConnection = await page.getByTestId("page-connection-id").textContent();
    const seen = log.answered();
    const one = (what: string, match: (s: NetworkRow) => boolean) => {
      const found = seen.filter(match);
      expect(found.length, `${what} was loaded`).toBeGreaterThan(0);
      return found;
    };
    const everything = [
      ...one("the document", (s) => s.type === "Document"),
      ...one("the wasm module", (s) => s.url.endsWith(".wasm")),
      ...one("the JS glue", (s) => s.url.endsWith(".js")),
      ...one("the stylesheet", (s) => s.url.endsWith(".css")),
      ...one("the Buy call", (s) => s.url.includes("/api/place_order")),
    ];
    const streams = seen.filter((s) => s.type === "EventSource");
    expect(streams, "one EventSource per widget").toHaveLength(count);
    everything.push(...streams);

    // The browser's view: h2 everywhere, one connection id for all of it.
    const documentConnection = everything[0].connectionId;
    for (const s of everything) {
      expect(s.protocol, s.url).toBe("h2");
      expect(s.connectionId, s.url).toBe(documentConnection);
      // The server's view of the same responses: the connection its accept loop numbered.
      expect(s.serverConnection, s.url).toBe(pageConnection);
    }

    // Each widget's wire X-ray ("connection N over h2") against what Chromium itself reports
    // for that widget's stream: N is the server's number for the connection CDP shows the
    // stream on, and that is the document's connection.
    const xrays = await widgets.evaluateAll((sections) =>
      sections.map((section) => ({
        topic: section.getAttribute("data-topic")!,
        line: section.querySelector(".wire-line")?.textContent ?? "",
      })),
    );
    for (const { topic, line } of xrays) {
      const said = line.match(/connection (\d+) over (h2|http\/1\.1)/);
      expect(said, `${topic}'s X-ray names its connection: ${line}`).not.toBeNull();
      const stream = streams.find((s) => new URL(s.url).pathname === `/api/topics/${topic}/events`);
      expect(stream, `${topic}'s EventSource in CDP's log`).toBeDefined();
      expect(said![2], topic).toBe(stream!.protocol);
      expect(said![1], topic).toBe(stream!.serverConnection);
      expect(stream!.connectionId, topic).toBe(documentConnection);
    }

    // The server's registry agrees: this connection carries exactly the page's streams.
    const stats = await page.evaluate(async () => (await fetch("/api/stats")).json());
    const mine = stats.connections.find((c: { id: number }) => String(c.id) === pageConnection);
    expect(mine.protocol).toBe("h2");
    expect(mine.streams).toBe(count);
    // …and what a human reads on the page says the same.
    await expect(page.getByTestId("streams-strip")).toHaveText(`${count} streams on 1 connection`);
    // Each widget's header names the instance that serves its stream: the one `/api/stats`
    // answers as (a single server here; behind an edge, whichever the browser was sent to).
    await expect(page.getByTestId("instance")).toHaveCount(count);
    for (const name of await page.getByTestId("instance").allTextContents()) expect(name).toBe(stats.instance);
    // Each widget's X-ray also says how many streams share its connection: the registry's count
    // for the connection the page arrived on, which CDP showed is the one every stream uses.
    const sharing = widgets.getByTestId("streams-on-connection");
    await expect(sharing).toHaveCount(count);
    await expect(sharing).toHaveText(Array(count).fill(String(mine.streams)));

    // For the README's walk-through: the network log as devtools shows it.
    if (count === 8) await screenshotNetwork(context, "HTTP/2, 8 widgets: one connection", seen, "screenshots/network-h2.png");
  });
}
