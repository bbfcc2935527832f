// The production shape in a real browser: the dashboard through an edge (nginx, then HAProxy,
// from deploy/) in front of two instances on one Redis. The browser's side of the claim is the
// same as without an edge — one h2 connection carries everything — and each widget's header
// says which instance serves its stream. Then one instance is killed: every widget it served
// goes `reconnecting`, comes back through the edge on the survivor and resumes, with no gap
// and no reset.
import { test, expect } from "@playwright/test";
import { startCluster, type Cluster, type EdgeKind } from "../cluster";
import { hydrated, networkLog, recordEventSources, parseId } from "../support";

for (const edge of ["nginx", "haproxy"] as EdgeKind[]) {
  test.describe(`through ${edge}`, () => {
    let cluster: Cluster;
    test.beforeEach(async ({}, testInfo) => {
      // The cluster card's test runs with drills on and a control pipe, as scripts/cluster
      // does with TICKERPLEX_DRILLS=1.
      cluster = await startCluster(edge, {
        drills: testInfo.title.includes("cluster card"),
        ledger: testInfo.title.includes("Postgres") ? "postgres" : "sqlite",
      });
    });
    test.afterEach(async () => {
      await cluster.stop();
    });

    test("one h2 connection to the edge carries everything; widgets are served by both instances; /ops shows both", async ({ page, context }) => {
      const log = await networkLog(context, page);
      await page.goto(`${cluster.url}/?count=8`);
      await hydrated(page);
      await expect(page.locator('section.widget[data-state="open"]')).toHaveCount(8);

      const seen = log.answered().filter((row) => row.url.startsWith(cluster.url));
      expect(seen.filter((row) => row.type === "EventSource")).toHaveLength(8);
      const connection = seen[0].connectionId;
      for (const row of seen) {
        expect(row.protocol, row.url).toBe("h2");
        expect(row.connectionId, row.url).toBe(connection);
      }
      const instances = new Set(await page.getByTestId("instance").allTextContents());
      expect([...instances].sort()).toEqual(["a", "b"]);
      // The strip: one instance's registry counted (the edge's connections to it, not the
      // browser's), so it adds this page's own count of streams per instance.
      const strip = page.getByTestId("streams-strip");
      await expect(strip).toHaveText(/this page's streams: a \d+, b \d+$/);
      const perInstance = [...((await strip.textContent())!.matchAll(/[ab] (\d+)/g))].map((m) => Number(m[1]));
      expect(perInstance.reduce((a, b) => a + b, 0)).toBe(8);
      // Behind the edge a registry counts the edge's connections, not the browser's: the
      // headers name the instance (above) and claim no count of streams per connection.
      await expect(page.getByTestId("streams-on-connection")).toHaveCount(0);

      // The ops page, from whichever instance the edge picks: every instance's numbers, posted
      // on the shared log's board once a second.
      await page.goto(`${cluster.url}/ops`);
      await hydrated(page);
      const tables = page.locator("section.ops table[data-instance]");
      await expect(tables).toHaveCount(2);
      expect((await tables.evaluateAll((all) => all.map((t) => t.getAttribute("data-instance")))).sort()).toEqual(["a", "b"]);
      for (const name of ["a", "b"]) {
        await expect(page.locator(`section.ops table[data-instance="${name}"]`).getByTestId("ops-instance")).toHaveText(name);
      }
    });

    test("a Buy placed on one instance shows in the portfolio the other serves, through one Postgres ledger", async ({ page, context }) => {
      await page.goto(`${cluster.url}/`);
      await hydrated(page);
      const portfolio = page.locator('section.portfolio[data-topic="portfolio"]');
      await expect(portfolio).toHaveAttribute("data-state", "open");
      const serving = (await portfolio.getByTestId("instance").textContent())!.trim();
      const other = cluster.instances.find((i) => i.name !== serving)!;
      // Straight to the other instance, past the edge: the context's request shares the page's
      // session cookie (cookies are per host, not per port).
      const instance = `https://localhost:${other.port}`;
      // The market delists a company now and then: a symbol just delisted is refused with 422,
      // and the next listed one is bought instead.
      let symbol = "";
      let answer;
      for (let attempt = 0; attempt < 3; attempt++) {
        const energy = await (await context.request.get(`${instance}/api/topics/sector/energy/events`, { headers: { accept: "application/json" } })).json();
        symbol = energy.members[0].symbol;
        answer = await context.request.post(`${instance}/api/place_order`, {
          headers: { "idempotency-key": `e2e-${attempt}-${Date.now()}` },
          form: { symbol, side: "Buy", quantity: "3" },
        });
        if (answer.status() !== 422) break;
      }
      expect(answer!.status(), await answer!.text()).toBe(200);
      expect(answer!.headers()["x-instance"]).toBe(other.name);
      // Shown by the instance that did not take the order: it heard of it from Postgres.
      const row = portfolio.locator(`tbody tr[data-symbol="${symbol}"]`);
      await expect(row).toHaveAttribute("data-quantity", "3", { timeout: 2_000 });
      await expect(portfolio.getByTestId("instance")).toHaveText(serving);
    });

    test("an instance frozen behind the edge: within 40 s its widgets are live on the survivor, as the survivor counts them", async ({ page }) => {
      test.setTimeout(90_000);
      await page.goto(`${cluster.url}/?count=6`);
      await hydrated(page);
      await expect(page.locator('section.widget[data-state="open"]')).toHaveCount(6);
      const names = await page.getByTestId("instance").allTextContents();
      const victim = cluster.instances.find((i) => i.name === names[0])!;
      const survivor = cluster.instances.find((i) => i !== victim)!;
      // SIGSTOP: the process keeps its sockets and answers nothing — no error, no close, so
      // neither the edge nor the browser is told. Only silence tells (the heartbeat watchdog),
      // and behind HAProxy its health check.
      victim.process.kill("SIGSTOP");
      const frozenAt = Date.now();
      try {
        // The survivor's own count of the streams it serves (the edge's connections to it).
        const survivorStreams = async () => {
          const stats = await (await page.request.get(`https://localhost:${survivor.port}/api/stats`)).json();
          return (stats.connections as { streams: number }[]).reduce((sum, c) => sum + c.streams, 0);
        };
        await expect
          .poll(async () => (await page.getByTestId("instance").allTextContents()).every((n) => n === survivor.name), {
            timeout: 40_000,
            intervals: [500],
          })
          .toBe(true);
        await expect(page.locator('section.widget[data-state="open"]')).toHaveCount(6);
        await expect.poll(survivorStreams, { timeout: Math.max(1, 40_000 - (Date.now() - frozenAt)) }).toBeGreaterThanOrEqual(6);
        expect(Date.now() - frozenAt).toBeLessThanOrEqual(40_000);
        await expect(page.getByTestId("badge").filter({ hasText: /reset/ })).toHaveCount(0);
      } finally {
        victim.process.kill("SIGCONT");
      }
    });

    test("the fault panel's cluster card: Kill on the serving instance moves its widget to the survivor", async ({ page }) => {
      test.setTimeout(60_000);
      await page.goto(`${cluster.url}/faults`);
      await hydrated(page);
      const card = page.locator('article[data-fault="cluster"]');
      const widget = card.locator("section.widget");
      await expect(widget).toHaveAttribute("data-state", "open");
      const victim = (await card.getByTestId("instance").textContent())!;
      const survivor = cluster.instances.find((i) => i.name !== victim)!.name;
      await card.getByRole("button", { name: `Kill ${victim}`, exact: true }).click();
      // The command reached the cluster's control pipe. The button's answer is the instance's
      // 202 — or, when the edge sent the click to the victim itself and the kill beat the
      // answer back to the edge, the edge's error. Through nginx that is a 502 and the command
      // arrives once. Through HAProxy the browser is told REFUSED_STREAM ("not processed"),
      // sends the POST again, and the survivor passes the same command on a second time
      // (tests/cluster/edge_pitfalls.rs shows why): harmless for a kill, and the reason an
      // order carries an Idempotency-Key.
      await expect.poll(() => cluster.controlled.length).toBeGreaterThan(0);
      expect(new Set(cluster.controlled)).toEqual(new Set([`kill ${victim}`]));
      if (edge === "nginx") expect(cluster.controlled).toHaveLength(1);
      await expect(card.getByTestId("trigger-said").filter({ hasText: /^(202|502) / })).toHaveCount(1);
      await expect(card.getByTestId("instance")).toHaveText(survivor, { timeout: 30_000 });
      await expect(widget).toHaveAttribute("data-state", "open");
      await expect(card.getByTestId("badge")).toHaveText(/^resumed \d+$/);
      await expect(card.locator(".gap")).toHaveCount(0);
    });

    test("an instance killed behind the edge: its widgets resume on the survivor, no gap, no reset", async ({ page, context }) => {
      test.setTimeout(60_000);
      const { requests, messages } = await recordEventSources(context, page);
      await page.goto(`${cluster.url}/?count=6`);
      await hydrated(page);
      const widgets = page.locator("section.widget");
      await expect(page.locator('section.widget[data-state="open"]')).toHaveCount(6);
      // Some events first, then the kill.
      await expect.poll(() => messages.filter((m) => m.event === "update").length).toBeGreaterThanOrEqual(12);
      const names = await page.getByTestId("instance").allTextContents();
      const victim = cluster.instances.find((i) => i.name === names[0])!;
      const served = names.filter((n) => n === victim.name).length;
      victim.process.kill("SIGKILL");

      // Every widget ends up open on the survivor. Those that were on the victim reconnected;
      // every widget's latest start is a resume (from the server-rendered id, or after the cut).
      const survivor = cluster.instances.find((i) => i !== victim)!.name;
      await expect
        .poll(async () => (await page.getByTestId("instance").allTextContents()).every((n) => n === survivor), { timeout: 30_000 })
        .toBe(true);
      await expect(page.locator('section.widget[data-state="open"]')).toHaveCount(6);
      await expect(widgets.getByTestId("reconnects")).toHaveCount(served);
      await expect(widgets.getByTestId("badge").filter({ hasText: /^resumed \d+$/ })).toHaveCount(6);
      await expect(widgets.getByTestId("badge").filter({ hasText: /reset/ })).toHaveCount(0);
      await expect(page.locator(".gap")).toHaveCount(0);

      // And on the wire: per topic (one widget each), live ids one after another across the
      // reconnect — the same epoch, each seq one more than the last.
      const topicOf = new Map(requests.map((r) => [r.requestId, new URL(r.url).pathname]));
      const seqs = new Map<string, { epoch: string; seq: number }[]>();
      for (const m of messages.filter((m) => ["add", "update", "remove"].includes(m.event) && m.id)) {
        const topic = topicOf.get(m.requestId)!;
        seqs.set(topic, [...(seqs.get(topic) ?? []), parseId(m.id)]);
      }
      expect(seqs.size).toBe(6);
      for (const [topic, ids] of seqs) {
        expect(new Set(ids.map((id) => id.epoch)).size, topic).toBe(1);
        expect(ids.map((id) => id.seq), topic).toEqual(ids.map((_, i) => ids[0].seq + i));
      }

      // The ops page forgets the killed instance: its last sample on the board grows old, and
      // the survivor stops forwarding it.
      await page.goto(`${cluster.url}/ops`);
      await hydrated(page);
      await expect(page.locator("section.ops table[data-instance]")).toHaveCount(1, { timeout: 15_000 });
      await expect(page.locator(`section.ops table[data-instance="${survivor}"]`)).toHaveCount(1);
    });
  });
}
