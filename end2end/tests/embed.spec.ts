// Widgets on another site. A host page of this test's own, served from http://127.0.0.1 (a
// different site from the app's https://localhost), pastes the snippet for three widgets — and
// a fourth naming no widget, and the loader twice — as a site owner would.
import { test, expect, type Frame, type Page } from "@playwright/test";
import { drill } from "../support";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Serves `html` at http://127.0.0.1:<port>/ until closed. */
async function hostSite(html: string): Promise<{ url: string; server: Server }> {
  const server = createServer((_, response) => {
    response.writeHead(200, { "content-type": "text/html" });
    response.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

const WIDGETS = ["watchlist", "movers", "sector/energy"];

/** The frame the loader made for `topic`. */
async function frameOf(page: Page, topic: string): Promise<Frame> {
  const element = await page.waitForSelector(`iframe[data-tickerplex-frame="${topic}"]`);
  const frame = await element.contentFrame();
  if (!frame) throw new Error(`no frame for ${topic}`);
  return frame;
}

test("three embedded widgets on another site go live on one HTTP/2 connection, without cookies", async ({ page, context, request, baseURL }) => {
  // The host page's own console: messages from our frames (the one naming no widget is a 400,
  // which its frame reports) are theirs, not the host page's.
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && !message.location().url.startsWith(baseURL!)) errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  // Every answer from us to the frames: which of our connections, and whether a cookie came.
  const streams: { url: string; connection: string | undefined; setCookie: boolean }[] = [];
  context.on("response", async (response) => {
    if (!response.url().startsWith(baseURL!)) return;
    const headers = await response.allHeaders();
    streams.push({ url: response.url(), connection: headers["x-connection-id"], setCookie: "set-cookie" in headers });
  });

  const snippet = [...WIDGETS, "nope"].map((topic, i) => `<div data-tickerplex="${topic}"${i === 0 ? ' data-theme="light"' : ""}></div>`).join("\n");
  const loader = `<script src="${baseURL}/embed.js" async></script>`;
  const { url, server } = await hostSite(`<!doctype html><title>a news site</title><h1>Markets</h1>\n${snippet}\n${loader}\n${loader}`);
  try {
    await page.goto(url);
    // One frame per element, though the loader came twice.
    await expect(page.locator("iframe[data-tickerplex-frame]")).toHaveCount(WIDGETS.length + 1);

    const footers: string[] = [];
    for (const topic of WIDGETS) {
      const frame = await frameOf(page, topic);
      const widget = frame.locator(`section.widget[data-topic="${topic}"]`);
      await expect(widget).toHaveAttribute("data-state", "open");
      await expect(frame.locator("main.embed")).toHaveAttribute("data-hydrated", "true");
      // Live: its last event id moves on.
      const id = widget.getByTestId("last-event-id");
      const first = await id.textContent();
      await expect(id).not.toHaveText(first!, { timeout: 15_000 });
      footers.push((await frame.getByTestId("embed-footer").textContent())!);
    }
    // The snippet's theme reached its frame (the first element asked for light).
    await expect((await frameOf(page, WIDGETS[0])).locator("main.embed")).toHaveAttribute("data-theme", "light");
    await expect((await frameOf(page, WIDGETS[1])).locator("main.embed")).toHaveAttribute("data-theme", "dark");
    // The widget that does not exist says so in its own frame; the others were not disturbed.
    await expect((await frameOf(page, "nope")).getByTestId("embed-error")).toContainText("nope");

    // One connection, as the browser itself reports it (CDP's connectionId, devtools' Connection
    // ID column). Each cross-site frame runs in a process of its own, with its own CDP target: a
    // session on each, then every stream dropped by the drill, so each EventSource reconnects
    // where the sessions see it.
    const connectionIds: string[] = [];
    for (const topic of WIDGETS) {
      const cdp = await context.newCDPSession(await frameOf(page, topic));
      await cdp.send("Network.enable");
      cdp.on("Network.responseReceived", (event) => {
        if (event.type === "EventSource") connectionIds.push(String(event.response.connectionId));
      });
    }
    await drill(request, "drop-streams");
    await expect.poll(() => connectionIds.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(WIDGETS.length);
    expect(new Set(connectionIds).size, `connection ids ${connectionIds}`).toBe(1);

    // The server agrees: each frame's footer names the same h2 connection, and so does every
    // answer the three frames got from us (pages, bundle, streams).
    expect(footers.every((footer) => footer.startsWith("live · h2 · connection "))).toBe(true);
    expect(new Set(footers).size).toBe(1);
    const fromFrames = streams.filter((s) => s.url.includes("/api/topics/") || s.url.includes("/embed/"));
    expect(fromFrames.length).toBeGreaterThanOrEqual(WIDGETS.length * 2);
    expect(new Set(fromFrames.map((s) => s.connection)).size).toBe(1);
    // No cookie set by us, none stored for our origin.
    expect(streams.some((s) => s.setCookie)).toBe(false);
    expect(await context.cookies(baseURL!)).toEqual([]);
    // A frame that could not be shown is not an error of the host page's.
    expect(errors).toEqual([]);
  } finally {
    server.close();
  }
});

test("a plain cross-origin EventSource reads a public topic; with credentials the browser refuses", async ({ page, baseURL }) => {
  const { url, server } = await hostSite("<!doctype html><title>elsewhere</title>");
  try {
    await page.goto(url);
    const stream = `${baseURL}/api/topics/movers/events`;
    const outcome = (withCredentials: boolean) =>
      page.evaluate(
        ([stream, withCredentials]) =>
          new Promise<string>((resolve) => {
            const source = new EventSource(stream as string, { withCredentials: withCredentials as boolean });
            source.addEventListener("hello", () => {
              source.close();
              resolve("hello");
            });
            source.onerror = () => {
              if (source.readyState === EventSource.CLOSED) resolve("refused");
            };
          }),
        [stream, withCredentials],
      );
    expect(await outcome(false)).toBe("hello");
    expect(await outcome(true)).toBe("refused");
  } finally {
    server.close();
  }
});

test("the dashboard can never be framed by another site", async ({ page, baseURL }) => {
  const refused: string[] = [];
  page.on("console", (message) => {
    if (message.text().includes("frame-ancestors")) refused.push(message.text());
  });
  const { url, server } = await hostSite(`<!doctype html><iframe src="${baseURL}/"></iframe>`);
  try {
    await page.goto(url);
    await expect.poll(() => refused.length).toBeGreaterThan(0);
    expect(refused[0]).toContain("'none'");
  } finally {
    server.close();
  }
});
