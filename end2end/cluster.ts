// The production shape for the end-to-end tests: Debian's redis-server, two tickerplex
// instances (the server binary `scripts/test` built) and an edge (nginx or HAProxy, from the
// very configs in deploy/), each a child process on a free loopback port. What scripts/cluster
// runs by hand, started and stopped by the test that needs it.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { constants, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(__dirname, "..");

export type EdgeKind = "nginx" | "haproxy";

export type Cluster = {
  url: string;
  instances: { name: string; port: number; process: ChildProcess }[];
  /** The commands the instances passed on from the fault panel's cluster card, in order. */
  controlled: string[];
  stop: () => Promise<void>;
};

/**
 * What scripts/cluster does with its control pipe, for the instances of a test cluster: a
 * named pipe each instance gets as TICKERPLEX_CLUSTER_CONTROL, read line by line; `freeze`,
 * `resume` and `kill` of an instance become SIGSTOP, SIGCONT and SIGKILL on its process.
 */
function controlPipe(scratch: string, instances: () => { name: string; process: ChildProcess }[], controlled: string[]) {
  const path = join(scratch, "control");
  execFileSync("mkfifo", [path]);
  // Read-write, so opening never waits for a writer and a writer closing is no end-of-file;
  // as a pipe socket, so reads are events, not a thread blocked in read().
  const pipe = new Socket({ fd: openSync(path, constants.O_RDWR | constants.O_NONBLOCK), readable: true, writable: false });
  let pending = "";
  pipe.on("data", (chunk: Buffer) => {
    pending += chunk.toString();
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      controlled.push(line);
      const [verb, name] = line.split(" ");
      const signal = ({ freeze: "SIGSTOP", resume: "SIGCONT", kill: "SIGKILL" } as Record<string, NodeJS.Signals>)[verb];
      const target = instances().find((i) => i.name === name);
      if (signal && target) target.process.kill(signal);
    }
  });
  return { path, close: () => pipe.destroy() };
}

/** A port nobody listens on now (the OS's choice for port 0, released at once). */
async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once 127.0.0.1:port accepts connections (a child we started prints no "ready"). */
async function listening(port: number, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}) before listening`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => (socket.end(), resolve(true)));
      socket.on("error", () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not listen on ${port}`);
}

function binary(name: string): string {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin"]) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} is not installed: scripts/setup installs it (Debian: apt-get install ${name === "nginx" ? "nginx-light" : name})`);
}

/** The template at deploy/<path> with `values` put in, comments (which name them) left alone. */
function fill(path: string, values: Record<string, string>): string {
  return readFileSync(join(ROOT, "deploy", path), "utf8")
    .split("\n")
    .map((line) =>
      line.trimStart().startsWith("#") ? line : Object.entries(values).reduce((l, [k, v]) => l.split(`@${k}@`).join(v), line),
    )
    .join("\n");
}

/** The newest Postgres's bin directory (Debian keeps it off PATH), or a failure naming the fix. */
function postgresBin(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "postgres"))) : [];
  versions.sort((x, y) => Number(x) - Number(y));
  if (versions.length === 0) throw new Error("Postgres is not installed: scripts/setup installs it (Debian: apt-get install postgresql)");
  return join(root, versions[versions.length - 1], "bin");
}

/**
 * A Postgres of the test's own in `dir`: initdb, then the server on `port` with its own socket
 * directory. Postgres refuses root, so when the tests are root it runs as the `postgres` user
 * through setpriv (which execs in place: the child is the server). Returns the server and
 * the URL for TICKERPLEX_DATABASE_URL.
 */
function startPostgres(dir: string, port: number, run: (command: string, args: string[]) => ChildProcess) {
  const bin = postgresBin();
  const root = process.getuid?.() === 0;
  const asPostgres = (program: string, args: string[]): [string, string[]] =>
    root ? ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", program, ...args]] : [program, args];
  mkdirSync(join(dir, "socket"), { recursive: true });
  const password = "e2e-" + Math.random().toString(36).slice(2);
  writeFileSync(join(dir, "password"), password);
  if (root) execFileSync("chown", ["-R", "postgres:postgres", dir]);
  const [initdb, initArgs] = asPostgres(join(bin, "initdb"), [
    "-D", join(dir, "data"), "-U", "tickerplex", "--auth=scram-sha-256", `--pwfile=${join(dir, "password")}`, "--no-sync", "--no-instructions",
  ]);
  execFileSync(initdb, initArgs, { cwd: dir, stdio: "ignore" });
  const [postgres, args] = asPostgres(join(bin, "postgres"), [
    "-D", join(dir, "data"), "-p", String(port), "-k", join(dir, "socket"), "-c", "listen_addresses=127.0.0.1",
  ]);
  return { server: run(postgres, args), url: `postgres://tickerplex:${password}@127.0.0.1:${port}/postgres` };
}

export async function startCluster(edge: EdgeKind, options: { drills?: boolean; ledger?: "sqlite" | "postgres" } = {}): Promise<Cluster> {
  const scratch = mkdtempSync(join(tmpdir(), `tickerplex-${edge}-`));
  const children: ChildProcess[] = [];
  const instances: { name: string; port: number; process: ChildProcess }[] = [];
  const controlled: string[] = [];
  const control = options.drills ? controlPipe(scratch, () => instances, controlled) : undefined;
  // nginx, HAProxy and Postgres run as a master and its workers: SIGKILL on the master would
  // leave the workers running, orphaned. The edges get SIGTERM, Postgres SIGQUIT (its
  // immediate shutdown, as `pg_ctl -m immediate`), and they are waited for, five seconds at
  // most; the single-process children are simply killed.
  const edges = new Map<ChildProcess, NodeJS.Signals>();
  const run = (command: string, args: string[], env: Record<string, string> = {}) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: "ignore" });
    children.push(child);
    if (command.endsWith("nginx") || command.endsWith("haproxy")) edges.set(child, "SIGTERM");
    if (args.some((arg) => arg.endsWith("/bin/postgres"))) edges.set(child, "SIGQUIT");
    return child;
  };
  let postgresDir: string | undefined;
  const stop = async () => {
    control?.close();
    // A frozen instance would not die of SIGTERM: thaw everything first.
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGCONT");
    const exited = [...edges].map(
      ([child, signal]) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once("exit", () => resolve());
          child.kill(signal);
        }),
    );
    for (const child of children) if (!edges.has(child)) child.kill("SIGKILL");
    await Promise.race([Promise.all(exited), new Promise((resolve) => setTimeout(resolve, 5_000))]);
    for (const child of edges.keys()) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    if (postgresDir) rmSync(postgresDir, { recursive: true, force: true });
  };
  try {
    const redisPort = await freePort();
    mkdirSync(join(scratch, "redis"));
    const redis = run(binary("redis-server"), ["--bind", "127.0.0.1", "--port", String(redisPort), "--dir", join(scratch, "redis"), "--appendonly", "yes", "--save", ""]);
    await listening(redisPort, redis, "redis-server");

    // The ledger: one SQLite file both instances open (one machine), or a Postgres (any number).
    let ledger: Record<string, string> = { TICKERPLEX_LEDGER: join(scratch, "ledger.db") };
    if (options.ledger === "postgres") {
      const port = await freePort();
      // A directory of its own, not under `scratch` (which only root may enter): when the
      // tests are root it is handed to the postgres user. Removed by `stop`.
      postgresDir = mkdtempSync(join(tmpdir(), "tickerplex-postgres-"));
      const postgres = startPostgres(postgresDir, port, run);
      await listening(port, postgres.server, "postgres");
      ledger = { TICKERPLEX_DATABASE_URL: postgres.url };
    }

    for (const name of ["a", "b"]) {
      const port = await freePort();
      const child = run(join(ROOT, "target/debug/tickerplex"), [], {
        LEPTOS_OUTPUT_NAME: "tickerplex",
        LEPTOS_SITE_ROOT: "target/site",
        LEPTOS_SITE_PKG_DIR: "pkg",
        // The bundle's content-hashed names, from target/debug/hash.txt (Cargo.toml: hash-files).
        LEPTOS_HASH_FILES: "true",
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        TICKERPLEX_REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
        TICKERPLEX_INSTANCE: name,
        // The edge connects from loopback: its X-Forwarded-For names the browser, so the
        // per-client stream cap counts browsers, not the edge.
        TICKERPLEX_TRUSTED_PROXIES: "127.0.0.1",
        TICKERPLEX_HTTP1_PORT: "",
        // One ledger for both instances: every session and fill is seen by each.
        ...ledger,
        TICKERPLEX_METRICS_ADDR: "127.0.0.1:0",
        ...(control ? { TICKERPLEX_DRILLS: "1", TICKERPLEX_CLUSTER_CONTROL: control.path } : {}),
      });
      await listening(port, child, `instance ${name}`);
      instances.push({ name, port, process: child });
    }

    const edgePort = await freePort();
    const certs = join(ROOT, "certs");
    if (edge === "nginx") {
      for (const dir of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(scratch, dir));
      const config = fill("nginx/tickerplex.conf", {
        PREFIX: scratch,
        LISTEN: `127.0.0.1:${edgePort}`,
        CERT: join(certs, "localhost.pem"),
        KEY: join(certs, "localhost-key.pem"),
        CA: join(certs, "dev-ca.pem"),
        UPSTREAMS: instances.map((i) => `server 127.0.0.1:${i.port} max_fails=3 fail_timeout=5s;`).join(" "),
      });
      writeFileSync(join(scratch, "nginx.conf"), config);
      const nginx = run(binary("nginx"), ["-p", scratch, "-c", join(scratch, "nginx.conf"), "-e", join(scratch, "error.log")]);
      await listening(edgePort, nginx, "nginx");
    } else {
      const pem = join(scratch, "edge.pem");
      writeFileSync(pem, readFileSync(join(certs, "localhost.pem"), "utf8").trimEnd() + "\n" + readFileSync(join(certs, "localhost-key.pem"), "utf8"));
      const config = fill("haproxy/tickerplex.cfg", {
        LISTEN: `127.0.0.1:${edgePort}`,
        PEM: pem,
        CA: join(certs, "dev-ca.pem"),
        SERVERS: instances.map((i) => `server ${i.name} 127.0.0.1:${i.port}`).join("\n    "),
      });
      writeFileSync(join(scratch, "haproxy.cfg"), config);
      const haproxy = run(binary("haproxy"), ["-W", "-db", "-f", join(scratch, "haproxy.cfg")]);
      await listening(edgePort, haproxy, "haproxy");
    }
    return { url: `https://localhost:${edgePort}`, instances, controlled, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export type Instance = { url: string; stop: () => Promise<void> };

/**
 * One tickerplex (the binary scripts/test built) on `port`, its market in memory and its ledger
 * in `ledger`: what a restart test stops and starts again. `stop` sends SIGTERM — the drain a
 * deploy sends — and resolves once the process has exited.
 */
export async function startInstance(port: number, ledger: string): Promise<Instance> {
  const child = spawn(join(ROOT, "target/debug/tickerplex"), [], {
    cwd: ROOT,
    env: {
      ...process.env,
      LEPTOS_OUTPUT_NAME: "tickerplex",
      LEPTOS_SITE_ROOT: "target/site",
      LEPTOS_SITE_PKG_DIR: "pkg",
      LEPTOS_HASH_FILES: "true",
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      TICKERPLEX_LEDGER: ledger,
      TICKERPLEX_METRICS_ADDR: "127.0.0.1:0",
      TICKERPLEX_HTTP1_PORT: "",
      TICKERPLEX_REDIS_URL: "",
    },
    stdio: "ignore",
  });
  await listening(port, child, "tickerplex");
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    url: `https://localhost:${port}`,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export { freePort };
