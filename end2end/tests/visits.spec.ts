// No row per visitor, with JavaScript running: first visits in Chromium — each one
// hydrates the dashboard, which opens the portfolio's private stream and reads its empty
// snapshot — write nothing to the ledger. The scripted half of the same claim (10,000 visits
// without a cookie, 1,000 replaying the page's requests) is tests/trading/portfolio.rs.
import { test, expect, type Browser, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startInstance } from "../cluster";
import { hydrated, orderFirstListed } from "../support";

/** First visits in all, spread over `LANES` browser contexts that each visit in turn: 50 in
 * `scripts/test` (about 18 s of a debug build on 2 cores: the suite is at its 30-minute budget),
 * `TICKERPLEX_BROWSER_VISITS=1000` for the full claim (about 6 minutes; docs/operations.md has
 * the run). */
const VISITS = Number(process.env.TICKERPLEX_BROWSER_VISITS || 50);
/** Contexts visiting side by side: each keeps its own HTTP cache, so after its first visit the
 * wasm comes from the cache, as it would for a returning visitor whose cookie expired. */
const LANES = 2;

// A trace of a thousand page loads would cost more than the loads themselves.
test.use({ trace: "off" });

/** Session rows in the ledger file, read by Python's sqlite3 (Node 20 has no SQLite of its own;
 * python3 is on every machine scripts/setup has prepared). Read-only, so the count writes nothing. */
function sessionRows(ledger: string): number {
  const script = "import sqlite3,sys; db=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro', uri=True); print(db.execute('select count(*) from sessions').fetchone()[0])";
  return Number(execFileSync("python3", ["-c", script, ledger]).toString().trim());
}

/** The ledger's file and its write-ahead log as the file system sees them: any write (and so any
 * fsync) changes a size or a modification time. */
function files(ledger: string) {
  return [ledger, `${ledger}-wal`].map((path) => {
    try {
      const { size, mtimeMs } = statSync(path);
      return { path, size, mtimeMs };
    } catch {
      return { path, size: -1, mtimeMs: -1 };
    }
  });
}

/** One visitor with no cookie: the page hydrates, the portfolio's stream opens and shows the
 * empty account. Returns the session cookie the visit was handed. */
async function visit(page: Page): Promise<string> {
  await page.context().clearCookies();
  await page.goto("/");
  await hydrated(page);
  const portfolio = page.locator('section.portfolio[data-topic="portfolio"]');
  await expect(portfolio).toHaveAttribute("data-state", "open");
  await expect(portfolio).toHaveAttribute("data-cash", "100000.00");
  const cookies = await page.context().cookies();
  expect(cookies.length, "the visit was handed a session cookie").toBeGreaterThan(0);
  return cookies.map((c) => `${c.name}=${c.value}`).join("; ");
}

test("first visits with JavaScript running write no row to the ledger; the first order writes one", async ({ browser }: { browser: Browser }) => {
  test.setTimeout(600_000);
  const folder = mkdtempSync(join(tmpdir(), "tickerplex-visits-"));
  const ledger = join(folder, "ledger.db");
  const server = await startInstance(await freePort(), ledger);
  const contexts = await Promise.all(
    Array.from({ length: LANES }, () => browser.newContext({ ignoreHTTPSErrors: true, baseURL: server.url })),
  );
  try {
    const before = files(ledger);
    expect(sessionRows(ledger)).toBe(0);

    const started = Date.now();
    const cookies = new Set<string>();
    await Promise.all(
      contexts.map(async (context, lane) => {
        const page = await context.newPage();
        for (let n = lane; n < VISITS; n += LANES) cookies.add(await visit(page));
      }),
    );
    console.log(`${VISITS} visits in ${((Date.now() - started) / 1000).toFixed(1)} s over ${LANES} contexts`);
    expect(cookies.size, "every visit was a new visitor").toBe(VISITS);
    expect(sessionRows(ledger), "a row per visitor").toBe(0);
    expect(files(ledger), "the ledger's files were written").toEqual(before);

    // The count is not blind: the first order of the last visitor writes exactly one row.
    const page = contexts[0].pages()[0];
    await orderFirstListed(page, "buy", 1, (symbol) => new RegExp(`^Bought 1 ${symbol} `));
    expect(sessionRows(ledger)).toBe(1);
  } finally {
    await Promise.all(contexts.map((context) => context.close()));
    await server.stop();
    rmSync(folder, { recursive: true, force: true });
  }
});
