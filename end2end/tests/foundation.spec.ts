// The foundation: the page is rendered on the server, hydrated by the wasm module, and served over
// HTTP/2 on one connection — checked from the browser's side.
import { test, expect } from "@playwright/test";
import { hydrated, networkLog } from "../support";
import { WebSocketServer } from "ws";
import type { AddressInfo } from "node:net";

test.describe("with JavaScript disabled", () => {
  test.use({ javaScriptEnabled: false });

  test("the server-rendered HTML already shows the heading and the page's connection", async ({ page }) => {
    await page.goto("/");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("tickerplex");
    await expect(page.getByTestId("page-protocol")).toHaveText("h2");
    // No script ran, so nothing hydrated.
    await expect(page.locator("main")).toHaveAttribute("data-hydrated", "false");
  });
});

test("after hydration the button calls the server, which answers on the page's own connection", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  const pageConnection = await page.getByTestId("page-connection-id").textContent();
  expect(pageConnection).toMatch(/^\d+$/);

  await page.getByTestId("ping").click();

  // The id comes from the server's accept loop twice: once while rendering the document, once
  // for the server-function call. Over HTTP/2 both travelled on one connection.
  await expect(page.getByTestId("ping-result")).toContainText(`on connection ${pageConnection} over h2`);
});

test("the document is fetched over h2, as both CDP and the page's own timing report", async ({ page, context }) => {
  const log = await networkLog(context, page);

  const response = await page.goto("/");

  const documents = log.answered().filter((row) => row.type === "Document");
  expect(documents).toHaveLength(1);
  expect(documents[0].protocol).toBe("h2");
  const nextHopProtocol = await page.evaluate(
    () => (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming).nextHopProtocol,
  );
  expect(nextHopProtocol).toBe("h2");
  // The server's label for the connection travels in a header and in the page: they agree.
  expect(await response!.headerValue("x-connection-id")).toBe(
    await page.getByTestId("page-connection-id").textContent(),
  );
});

// The live-reload fix (src/app/live_reload.rs) connects an https page to cargo-leptos's plain
// ws:// reload server. That only works because Chromium does not block ws://localhost as mixed
// content on an https page; this proves it with a stand-in for the reload server.
// Mixed content is the browser's rule under test here, not our Content-Security-Policy: the
// page's policy allows the reload socket only under `cargo leptos watch` (src/app/security.rs),
// and this stand-in listens on a port of its own, so the policy is bypassed for this one test.
test.describe("the live-reload premise", () => {
  test.use({ bypassCSP: true });
  test("an https page on localhost may open a plain ws:// socket to localhost (the live-reload premise)", async ({ page }) => {
    const reloadServer = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((resolve) => reloadServer.once("listening", resolve));
    const { port } = reloadServer.address() as AddressInfo;
    reloadServer.on("connection", (socket) => socket.send(JSON.stringify({ all: true })));

    try {
      await page.goto("/");
      expect(new URL(page.url()).protocol).toBe("https:");
      const received = await page.evaluate(
        (url) =>
          new Promise<string>((resolve, reject) => {
            const ws = new WebSocket(url);
            ws.onmessage = (event) => resolve(String(event.data));
            ws.onerror = () => reject(new Error(`the browser refused ${url}`));
          }),
        `ws://localhost:${port}/live_reload`,
      );
      expect(JSON.parse(received)).toEqual({ all: true });
    } finally {
      reloadServer.close();
    }
  });
});
