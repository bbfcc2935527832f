// Browser-side figures for BENCHMARKS.md (run by `tickerplex-load suite --browser`):
// time from navigation to hydrated, and to the first live tick rendered, in headless Chromium.
//
//   node end2end/bench/browser.mjs https://localhost:4430/ [runs]
//
// Prints one JSON line per run: {"hydrated_ms": …, "first_tick_ms": …, "bundle": [{"file":
// "wasm", "encoded": …, "decoded": …}, …], "html": {"encoded": …, "decoded": …}}: the bundle's
// and the document's bytes as transferred and as used. The
// times are read from the page's own clock (performance.now(), whose zero is the navigation start) by a MutationObserver
// installed before any page script runs, so no polling interval blurs them:
// - hydrated: <main data-hydrated="true"> (set once every island has run its first effect,
//   src/widgets/islands.rs);
// - first tick: the first time any widget's last-event-id text changes from what the server
//   rendered — a live event has arrived over the stream and been rendered.
import { chromium } from "@playwright/test";
import { readFileSync } from "node:fs";

const url = process.argv[2];
const runs = Number(process.argv[3] ?? 5);
if (!url) {
  console.error("usage: node end2end/bench/browser.mjs <url> [runs]");
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  // The flags end2end/playwright.config.ts explains, from the list it uses.
  args: JSON.parse(readFileSync(new URL("../chromium-args.json", import.meta.url), "utf8")),
});
try {
  for (let run = 0; run < runs; run++) {
    // A fresh context each run: nothing cached, a new connection, as a first visit.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.addInitScript(() => {
      const marks = (window.__tickerplexBench = {});
      const rendered = new Map();
      const look = () => {
        const main = document.querySelector("main[data-hydrated]");
        if (marks.hydrated === undefined && main?.dataset.hydrated === "true") {
          marks.hydrated = performance.now();
        }
        for (const id of document.querySelectorAll('[data-testid="last-event-id"]')) {
          const text = id.textContent;
          if (!rendered.has(id)) rendered.set(id, text);
          else if (marks.firstTick === undefined && rendered.get(id) !== text) {
            marks.firstTick = performance.now();
          }
        }
      };
      new MutationObserver(look).observe(document, {
        subtree: true,
        childList: true,
        characterData: true,
        attributes: true,
      });
    });
    await page.goto(url);
    const marks = await page.waitForFunction(
      () => {
        const m = window.__tickerplexBench;
        return m.hydrated !== undefined && m.firstTick !== undefined && m;
      },
      null,
      { timeout: 30_000 },
    );
    const { hydrated, firstTick } = await marks.jsonValue();
    // What crossed the wire for the bundle, by the page's own Resource Timing: the body bytes
    // as sent (`encodedBodySize`: compressed, when the server compressed) and as used.
    const bundle = await page.evaluate(() =>
      performance
        .getEntriesByType("resource")
        .filter((entry) => /\/pkg\/tickerplex[^/]*\.(wasm|js|css)$/.test(new URL(entry.name).pathname))
        .map((entry) => ({
          file: new URL(entry.name).pathname.split(".").pop(),
          encoded: entry.encodedBodySize,
          decoded: entry.decodedBodySize,
        })),
    );
    // The document itself, as transferred and as parsed.
    const html = await page.evaluate(() => {
      const [navigation] = performance.getEntriesByType("navigation");
      return { encoded: navigation.encodedBodySize, decoded: navigation.decodedBodySize };
    });
    console.log(JSON.stringify({ hydrated_ms: hydrated, first_tick_ms: firstTick, bundle, html }));
    await context.close();
  }
} finally {
  await browser.close();
}
