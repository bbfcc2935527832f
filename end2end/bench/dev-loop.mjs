// The development loop, checked and timed once (run by `scripts/check-dev-loop`, against a
// running `scripts/dev`): in headless Chromium on https://localhost:3000,
//   1. a change under style/ swaps the stylesheet without reloading the page;
//   2. a change under src/ rebuilds the app and reloads the page, which then shows the change.
// Both go through cargo-leptos's live-reload socket, which the page opens over plain ws:// even
// though it is https (src/app/live_reload.rs). Prints one JSON line per step with the seconds
// from saving the file to the browser showing the change. Restores both files however it ends.
//
//   node end2end/bench/dev-loop.mjs [url]
import { chromium } from "@playwright/test";
import { readFileSync, writeFileSync } from "node:fs";

const url = process.argv[2] ?? "https://localhost:3000/";
const root = new URL("../../", import.meta.url);
const css = new URL("style/main.css", root);
const app = new URL("src/app/mod.rs", root);
const original = { css: readFileSync(css, "utf8"), app: readFileSync(app, "utf8") };
const restore = () => {
  writeFileSync(css, original.css);
  writeFileSync(app, original.app);
};
process.on("SIGINT", () => { restore(); process.exit(130); });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  args: JSON.parse(readFileSync(new URL("../chromium-args.json", import.meta.url), "utf8")),
});
try {
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
  await page.goto(url);
  await page.locator('main[data-hydrated="true"]').waitFor({ timeout: 120_000 });
  // A marker on the window: a reload wipes it, a stylesheet swap does not.
  await page.evaluate(() => { window.__sameDocument = true; });

  // 1. Style: a colour only this check uses, on the masthead.
  const marker = "rgb(1, 2, 3)";
  let started = Date.now();
  writeFileSync(css, `${original.css}\n.masthead h1 { color: ${marker}; }\n`);
  await page.waitForFunction(
    (colour) => getComputedStyle(document.querySelector(".masthead h1")).color === colour,
    marker,
    { timeout: 60_000, polling: 100 },
  );
  const sameDocument = await page.evaluate(() => window.__sameDocument === true);
  if (!sameDocument) throw new Error("the page reloaded for a CSS change; expected a stylesheet swap");
  console.log(JSON.stringify({ step: "style/ change: stylesheet swapped, no reload", seconds: (Date.now() - started) / 1000 }));

  // 2. Source: a new tagline; cargo-leptos rebuilds the server and the wasm, then reloads.
  const tagline = "Live stock widgets — every stream on one HTTP/2 connection.";
  const changed = "Live stock widgets — reloaded by the dev loop check.";
  if (!original.app.includes(tagline)) throw new Error(`src/app/mod.rs no longer holds the tagline "${tagline}"`);
  started = Date.now();
  writeFileSync(app, original.app.replace(tagline, changed));
  await page.waitForFunction(
    (text) => document.querySelector(".tagline")?.textContent === text
      && document.querySelector("main")?.dataset.hydrated === "true",
    changed,
    { timeout: 300_000, polling: 250 },
  );
  console.log(JSON.stringify({ step: "src/ change: rebuilt, page reloaded and hydrated", seconds: (Date.now() - started) / 1000 }));
} finally {
  restore();
  await browser.close();
}
