// Playwright configuration for tickerplex's end-to-end tests.
//
// `cargo leptos end-to-end` builds the app, starts the server, and runs `npx playwright test` in
// this folder at once — without waiting for the port — so `global-setup.ts` waits for the server.
import { defineConfig } from "@playwright/test";
import { readFileSync } from "node:fs";
import { join } from "node:path";

// The server's address comes from the same place cargo-leptos reads it: `site-addr` in
// Cargo.toml (or TICKERPLEX_BASE_URL to test another server). Always the host name `localhost`:
// browsers pool HTTP/2 connections per origin, so one name keeps one connection.
function baseURL(): string {
  if (process.env.TICKERPLEX_BASE_URL) return process.env.TICKERPLEX_BASE_URL;
  const cargoToml = readFileSync(join(__dirname, "..", "Cargo.toml"), "utf8");
  const siteAddr = /^site-addr\s*=\s*"[^"]*:(\d+)"/m.exec(cargoToml);
  if (!siteAddr) throw new Error("no site-addr in Cargo.toml's [package.metadata.leptos]");
  return `https://localhost:${siteAddr[1]}`;
}

export default defineConfig({
  testDir: "./tests",
  globalSetup: "./global-setup.ts",
  // One server, shared state (connection counters): run the files one after another.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    baseURL: baseURL(),
    // The dev certificate is signed by a local CA the test browser does not trust. Chromium
    // still negotiates h2 with this set (checked: see the protocol test).
    ignoreHTTPSErrors: true,
    trace: "retain-on-failure",
    launchOptions: {
      // Playwright cannot download its own browser here: use the system's Chromium
      // (scripts/setup installs Debian's and exports CHROMIUM_PATH).
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      // Without the background-networking flags Chromium keeps dialling Google's hosts, which a
      // closed network refuses; --no-sandbox because CI runs as root. One list, in
      // chromium-args.json, shared with the benchmark's page measurement (bench/browser.mjs).
      args: JSON.parse(readFileSync(join(__dirname, "chromium-args.json"), "utf8")),
    },
  },
  projects: [{ name: "chromium", use: { browserName: "chromium" } }],
});
