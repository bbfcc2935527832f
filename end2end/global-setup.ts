// Waits until the tickerplex server answers, because `cargo leptos end-to-end` starts the tests
// at the same moment it starts the server.
import { request, type FullConfig } from "@playwright/test";

/** How long the server may take to start listening after cargo-leptos launches it. */
const STARTUP_DEADLINE_MS = 60_000;
/** Pause between two connection attempts while the port is still closed. */
const RETRY_INTERVAL_MS = 250;

export default async function globalSetup(config: FullConfig) {
  const baseURL = config.projects[0].use.baseURL!;
  const api = await request.newContext({ baseURL, ignoreHTTPSErrors: true });
  const deadline = Date.now() + STARTUP_DEADLINE_MS;
  let lastError: unknown;
  try {
    while (Date.now() < deadline) {
      try {
        const response = await api.get("/", { timeout: 5_000 });
        if (response.ok()) return;
        lastError = new Error(`GET / answered ${response.status()}`);
      } catch (error) {
        lastError = error; // connection refused: not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_INTERVAL_MS));
    }
  } finally {
    await api.dispose();
  }
  throw new Error(`the server at ${baseURL} did not answer within ${STARTUP_DEADLINE_MS} ms: ${lastError}`);
}
