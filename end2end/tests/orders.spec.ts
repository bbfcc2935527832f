// Buy/Sell: a server function on the same origin, validated at the edge.
import { test, expect } from "@playwright/test";
import { escapeRegExp, hydrated, orderFirstListed } from "../support";

test.beforeEach(async ({ page }) => {
  await page.goto("/?widgets=watchlist");
  await hydrated(page);
});

test("a valid order shows its fill at the current price, with the round-trip time", async ({ page }) => {
  await orderFirstListed(page, "buy", 25, (symbol) =>
    new RegExp(`^Bought 25 ${symbol} at \\d+\\.\\d{2} = \\d+\\.\\d{2} \\(fill #\\d+, answered in \\d+ ms\\)$`),
  );
});

const invalid: [string, string, string][] = [
  ["an unknown symbol", "ZZZZ", "no listed company has the symbol ZZZZ"],
  ["a lowercase symbol", "helio", "symbol: a symbol is uppercase letters"],
  ["an empty symbol", "", "symbol: a symbol cannot be empty"],
];
for (const [what, symbol, message] of invalid) {
  test(`${what} is rejected with its reason`, async ({ page }) => {
    await page.getByTestId("order-symbol").fill(symbol);
    await page.getByTestId("sell").click();
    await expect(page.getByTestId("order-result")).toContainText(`Rejected: ${message}`);
  });
}

for (const [quantity, message] of [
  ["0", "quantity 0 is outside 1 to 10 000"],
  ["10001", "quantity 10001 is outside 1 to 10 000"],
  ["lots", 'quantity "lots" is not a whole number'],
]) {
  test(`quantity ${quantity} is rejected with its reason`, async ({ page }) => {
    await orderFirstListed(page, "buy", quantity, () => new RegExp(`Rejected: ${escapeRegExp(message)}`));
  });
}
