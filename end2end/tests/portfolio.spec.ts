// The portfolio: a private stream per session, changed by the order ticket, exactly once.
import { test, expect, type Page } from "@playwright/test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startInstance } from "../cluster";
import { hydrated, orderFirstListed } from "../support";

/** The dashboard's portfolio widget. */
const portfolio = (page: Page) => page.locator('section.portfolio[data-topic="portfolio"]');

/** The cash the widget shows, as a number (its `data-cash` attribute). */
const cash = async (page: Page) => Number(await portfolio(page).getAttribute("data-cash"));

/** Places an order through the ticket and returns the fill's total, read from the ticket. */
async function trade(page: Page, side: "buy" | "sell", symbol: string, quantity: number) {
  await page.getByTestId("order-symbol").fill(symbol);
  await page.getByTestId("order-quantity").fill(String(quantity));
  await page.getByTestId(side).click();
  const result = page.getByTestId("order-result");
  await expect(result).toHaveText(/^(Bought|Sold) .* = \d+\.\d{2} \(fill #\d+/);
  return totalOf(await result.textContent());
}

/** A fill's total, from the ticket's answer ("Bought 12 HELIO at 84.20 = 1010.40 (fill #1, …)"). */
const totalOf = (answer: string | null) => Number(answer!.match(/= (\d+\.\d{2})/)![1]);

/**
 * Buys `quantity` of the first symbol the watchlist shows that is still listed when the order
 * lands (`orderFirstListed`); returns the symbol and the fill's total.
 */
async function buyFirstListed(page: Page, quantity: number) {
  const symbol = await orderFirstListed(page, "buy", quantity, (s) => new RegExp(`^Bought ${quantity} ${s} .* = \\d+\\.\\d{2} \\(fill #\\d+`));
  return { symbol, total: totalOf(await page.getByTestId("order-result").textContent()) };
}

test("buy opens a position, sell closes it, and the cash matches the fills", async ({ page }) => {
  await page.goto("/");
  await hydrated(page);
  await expect(portfolio(page)).toHaveAttribute("data-state", "open");
  await expect(portfolio(page)).toHaveAttribute("data-cash", "100000.00");

  const { symbol, total: bought } = await buyFirstListed(page, 12);
  const row = portfolio(page).locator(`tbody tr[data-symbol="${symbol}"]`);
  // The fill's own event, sent the moment the ledger committed it.
  await expect(row).toHaveAttribute("data-quantity", "12", { timeout: 1_000 });
  await expect.poll(() => cash(page)).toBeCloseTo(100_000 - bought, 2);
  await page.screenshot({ path: "screenshots/portfolio.png", fullPage: true });

  const sold = await trade(page, "sell", symbol, 12);
  await expect(row).toHaveCount(0);
  await expect.poll(() => cash(page)).toBeCloseTo(100_000 - bought + sold, 2);
  // More than is held is refused with the reason, and changes nothing.
  await page.getByTestId("order-quantity").fill("1");
  await page.getByTestId("sell").click();
  await expect(page.getByTestId("order-result")).toContainText(`Rejected: cannot sell 1 ${symbol}: the account holds 0`);
});

test("another session sees its own empty portfolio, never the first one's positions", async ({ page, browser, baseURL }) => {
  await page.goto("/");
  await hydrated(page);
  await buyFirstListed(page, 3);
  await expect(portfolio(page).locator("tbody tr")).toHaveCount(1);

  const other = await browser.newContext({ ignoreHTTPSErrors: true, baseURL });
  const stranger = await other.newPage();
  await stranger.goto("/");
  await hydrated(stranger);
  await expect(portfolio(stranger)).toHaveAttribute("data-cash", "100000.00");
  await expect(portfolio(stranger).locator("tbody tr")).toHaveCount(0);
  await other.close();

  // A fresh demo account in the first tab: a new session, an empty portfolio.
  await page.getByTestId("new-account").click();
  await expect(portfolio(page).locator("tbody tr")).toHaveCount(0);
  await expect(portfolio(page)).toHaveAttribute("data-cash", "100000.00");
  await expect(portfolio(page)).toHaveAttribute("data-state", "open");
});

test("a restart keeps the portfolio, and its stream resumes without a reset", async ({ browser }) => {
  // A server of this test's own, on its own port and ledger file, so it can be restarted.
  const folder = mkdtempSync(join(tmpdir(), "tickerplex-restart-"));
  const ledger = join(folder, "ledger.db");
  const port = await freePort();
  let server = await startInstance(port, ledger);
  const context = await browser.newContext({ ignoreHTTPSErrors: true, baseURL: server.url });
  try {
    const page = await context.newPage();
    await page.goto("/");
    await hydrated(page);
    const { symbol } = await buyFirstListed(page, 7);
    const row = portfolio(page).locator(`tbody tr[data-symbol="${symbol}"]`);
    await expect(row).toHaveAttribute("data-quantity", "7");
    const before = await portfolio(page).getAttribute("data-cash");
    const lastId = await portfolio(page).getByTestId("last-event-id").textContent();

    await server.stop();
    await expect(portfolio(page)).not.toHaveAttribute("data-state", "open");
    server = await startInstance(port, ledger);
    // The browser reconnects by itself, sending the last fill's id: the new process resumes
    // it from the ledger — nothing to replay, no reset — and the portfolio is what it was.
    await expect(portfolio(page)).toHaveAttribute("data-state", "open", { timeout: 20_000 });
    await expect(portfolio(page).getByTestId("badge")).toHaveText("resumed 0");
    await expect(portfolio(page).getByTestId("last-event-id")).toHaveText(lastId!);
    await expect(row).toHaveAttribute("data-quantity", "7");
    await expect(portfolio(page)).toHaveAttribute("data-cash", before!);
    // And it goes on: the next fill continues the same ids.
    await trade(page, "buy", symbol, 1);
    await expect(row).toHaveAttribute("data-quantity", "8");
  } finally {
    await context.close();
    await server.stop();
    rmSync(folder, { recursive: true, force: true });
  }
});
