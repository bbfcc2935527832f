// Helpers the end-to-end specs share: waiting for hydration, and the browser's own record of
// every EventSource message (Chrome DevTools Protocol), which is what the Network panel's
// EventStream tab shows.
import { expect, type APIRequestContext, type BrowserContext, type Page } from "@playwright/test";

/** Waits until every island on the page has hydrated (each reports its first effect; src/widgets/islands.rs). */
export const hydrated = (page: Page) => expect(page.locator("main")).toHaveAttribute("data-hydrated", "true");

/**
 * One SSE message as Chromium received it. `id` is the EventSource's last event id after it;
 * `at` is when it arrived, in seconds on the browser's monotonic clock.
 */
export type Message = { requestId: string; event: string; id: string; data: string; at: number };

/**
 * One EventSource request as Chromium sent it; `lastEventId` is its `Last-Event-ID` header.
 * `status` and `encoding` (the response's `content-encoding`) once its answer has arrived.
 */
export type StreamRequest = { requestId: string; url: string; lastEventId?: string; status?: number; encoding?: string };

/**
 * Starts recording, from the browser's side, every EventSource request `page` sends and every
 * message it receives. Call before `page.goto`.
 */
export async function recordEventSources(context: BrowserContext, page: Page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  const requests: StreamRequest[] = [];
  const messages: Message[] = [];
  // The network stack adds Last-Event-ID after `requestWillBeSent`; the headers actually sent
  // come in `requestWillBeSentExtraInfo`, which may arrive first.
  const sentHeaders = new Map<string, Record<string, string>>();
  const lastEventIdOf = (headers?: Record<string, string>) =>
    Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === "last-event-id")?.[1];
  cdp.on("Network.requestWillBeSent", (event) => {
    if (event.type !== "EventSource") return;
    const lastEventId = lastEventIdOf(sentHeaders.get(event.requestId));
    requests.push({ requestId: event.requestId, url: event.request.url, lastEventId });
  });
  cdp.on("Network.requestWillBeSentExtraInfo", (event) => {
    sentHeaders.set(event.requestId, event.headers as Record<string, string>);
    const request = requests.find((r) => r.requestId === event.requestId);
    if (request) request.lastEventId = lastEventIdOf(sentHeaders.get(event.requestId));
  });
  cdp.on("Network.responseReceived", (event) => {
    const request = requests.find((r) => r.requestId === event.requestId);
    if (!request) return;
    request.status = event.response.status;
    request.encoding = Object.entries(event.response.headers).find(([name]) => name.toLowerCase() === "content-encoding")?.[1];
  });
  cdp.on("Network.eventSourceMessageReceived", (event) => {
    messages.push({ requestId: event.requestId, event: event.eventName, id: event.eventId, data: event.data, at: event.timestamp });
  });
  return { requests, messages };
}

/** `<epoch>-<seq>` → its parts. */
export function parseId(id: string): { epoch: string; seq: number } {
  const match = /^(\d+)-(\d+)$/.exec(id);
  if (!match) throw new Error(`not an event id: ${JSON.stringify(id)}`);
  return { epoch: match[1], seq: Number(match[2]) };
}

/** Runs a fault drill (`POST /api/drills/<name>`; the test server runs with TICKERPLEX_DRILLS=1). */
export async function drill(request: APIRequestContext, name: string) {
  const response = await request.post(`/api/drills/${name}`);
  expect(response.status(), await response.text()).toBe(200);
}

/** The symbols a widget shows, in order. */
export const symbolsOf = (page: Page, topic: string) =>
  page.locator(`section.widget[data-topic="${topic}"] tbody tr`).evaluateAll((rows) =>
    rows.map((row) => row.getAttribute("data-symbol")!),
  );

/** The members the server holds for `topic` right now (its JSON snapshot), in symbol order. */
export async function serverSymbols(request: APIRequestContext, topic: string): Promise<string[]> {
  const response = await request.get(`/api/topics/${topic}/events`, { headers: { accept: "application/json" } });
  const snapshot: { members: { symbol: string }[] } = await response.json();
  return snapshot.members.map((quote) => quote.symbol).sort();
}

/** `text` as a regular expression that matches exactly it. */
export const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Orders `quantity` of the first symbol the `topic` widget shows (Buy or Sell), waits for the
 * ticket's answer to match `answer(symbol)`, and returns the symbol.
 *
 * The market delists a company now and then (one churn every ~40 ticks, src/server/pubsub/market),
 * so the row just read may be delisted before the order lands, and the server is right to refuse
 * it: "no listed company has the symbol …". That refusal is accepted only when the page agrees —
 * the row leaves the widget, as the delisting's `remove` event says — and the order is placed
 * again for the new first row. A refusal of a symbol the page keeps showing fails the test.
 */
export async function orderFirstListed(
  page: Page,
  side: "buy" | "sell",
  quantity: number | string,
  answer: (symbol: string) => RegExp,
  topic = "watchlist",
): Promise<string> {
  const rows = page.locator(`section.widget[data-topic="${topic}"] tbody tr`);
  const result = page.getByTestId("order-result");
  for (let attempt = 1; attempt <= 3; attempt++) {
    const symbol = (await rows.first().getAttribute("data-symbol"))!;
    await page.getByTestId("order-symbol").fill(symbol);
    await page.getByTestId("order-quantity").fill(String(quantity));
    await page.getByTestId(side).click();
    const delisted = `Rejected: no listed company has the symbol ${symbol}`;
    await expect(result).toHaveText(new RegExp(`${answer(symbol).source}|^${delisted}$`));
    if ((await result.textContent()) !== delisted) return symbol;
    await expect(rows.and(page.locator(`[data-symbol="${symbol}"]`)), `${symbol} was refused as delisted, so it leaves the ${topic} widget`).toHaveCount(0);
  }
  throw new Error(`three symbols in a row were delisted under their orders`);
}

/** The server's HTTP/1.1-only listener (scripts/test sets TICKERPLEX_HTTP1_PORT). */
export const http1 = `https://localhost:${process.env.TICKERPLEX_HTTP1_PORT ?? "3002"}`;

/** Waits until the `topic` widget has received `events` more events than it had when called. */
export async function eventsPass(page: Page, topic: string, events: number) {
  const id = page.locator(`section.widget[data-topic="${topic}"]`).getByTestId("last-event-id");
  const from = parseId((await id.textContent())!).seq;
  await expect.poll(async () => parseId((await id.textContent())!).seq, { timeout: 20_000 }).toBeGreaterThanOrEqual(from + events);
}


/**
 * One row of a network log, as devtools' Network panel would show it; the response fields stay
 * unset while the request waits. `serverConnection` is the server's `x-connection-id` header.
 */
export type NetworkRow = {
  url: string;
  type: string;
  protocol?: string;
  connectionId?: number;
  status?: number;
  serverConnection?: string;
};

/**
 * Starts recording, from the browser's side (CDP), every request `page` sends and the response
 * each gets, if any. Call before `page.goto`.
 */
export async function networkLog(context: BrowserContext, page: Page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  const rows = new Map<string, NetworkRow>(); // requestId → what devtools would show
  cdp.on("Network.requestWillBeSent", (e) => rows.set(e.requestId, { url: e.request.url, type: e.type ?? "Other" }));
  cdp.on("Network.responseReceived", ({ requestId, response }) => {
    const row = rows.get(requestId);
    const headers = response.headers as Record<string, string>;
    if (row) {
      Object.assign(row, {
        protocol: response.protocol,
        connectionId: response.connectionId,
        status: response.status,
        serverConnection: headers["x-connection-id"],
      });
    }
  });
  return {
    rows: () => [...rows.values()],
    /** The requests that got a response. */
    answered: () => [...rows.values()].filter((row) => row.status !== undefined),
    /** The ids of the requests whose URL contains `part`. */
    sent: (part: string) => [...rows].filter(([, row]) => row.url.includes(part)).map(([id]) => id),
    isAnswered: (id: string) => rows.get(id)?.status !== undefined,
  };
}

/**
 * Saves a picture of `rows` laid out like devtools' Network panel with its Protocol and
 * Connection ID columns — the same CDP data the panel shows, since headless Chromium has no
 * devtools window to photograph. A request without a response is shown as pending.
 */
export async function screenshotNetwork(context: BrowserContext, title: string, rows: NetworkRow[], path: string) {
  const page = await context.newPage();
  const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const body = rows
    .map((row) => {
      const name = new URL(row.url).pathname + new URL(row.url).search;
      const pending = row.status === undefined;
      return `<tr class="${pending ? "pending" : ""}"><td>${escape(name.length > 60 ? name.slice(0, 57) + "…" : name)}</td>
        <td>${pending ? "(pending)" : row.status}</td><td>${escape(row.type)}</td>
        <td>${escape(row.protocol ?? "")}</td><td>${row.connectionId ?? ""}</td></tr>`;
    })
    .join("");
  await page.setContent(`<!doctype html><style>
      body { font: 12px system-ui, sans-serif; margin: 12px; background: #fff; color: #222; }
      h1 { font-size: 14px; } table { border-collapse: collapse; width: 100%; }
      th, td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; white-space: nowrap; }
      th { background: #f1f3f4; font-weight: 600; } tr.pending td { color: #999; font-style: italic; }
    </style><h1>${escape(title)}</h1>
    <table><tr><th>Name</th><th>Status</th><th>Type</th><th>Protocol</th><th>Connection ID</th></tr>${body}</table>`);
  await page.screenshot({ path, fullPage: true });
  await page.close();
}

/**
 * Reports the page as hidden (or visible again), as the browser does when its tab is switched
 * away (or back). Headless Chromium has no other tab to switch to, so the test replaces the
 * document's visibility and dispatches the same `visibilitychange` event a real switch sends;
 * everything after that — the widgets' own listeners, their streams, the server — is real.
 */
export async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((hidden) => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => (hidden ? "hidden" : "visible") });
    Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
    document.dispatchEvent(new Event("visibilitychange"));
  }, hidden);
}
