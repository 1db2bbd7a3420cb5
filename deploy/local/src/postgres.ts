import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import pg from "pg";
import { aptInstall, reachable, type Started, stopChild, which } from "./infra.js";
import { say } from "./output.js";

/**
 * Makes sure a PostgreSQL answers at `url` and that its database exists. In order: reuse the
 * server that answers there; else start a cluster of our own in `clusterDir` on that port
 * (initialising it with a generated password, installing Debian's package first when we are
 * root and it is missing); else, when given a folder for it, an embedded PGlite on the port.
 * The URL returned carries the password of a cluster of our own.
 */
export async function ensurePostgres(
  url: string,
  clusterDir: string,
  /** Where the demo may keep an embedded PGlite; none for the tests, which want the real thing. */
  o: { pgliteDir?: string },
): Promise<Started> {
  const u = new URL(url);
  const host = u.hostname;
  const port = Number(u.port || 5432);
  if (await reachable(host, port)) {
    const working = await withStoredPassword(url, clusterDir);
    await createDatabaseIfMissing(working).catch((err: unknown) => {
      throw new Error(
        `PostgreSQL at ${host}:${port} refused ${decodeURIComponent(u.username) || "postgres"}: ${(err as Error).message}; if it wants a password, put it in TAILOR_DATABASE_URL, or point TAILOR_DATABASE_URL at a free port and Tailor starts a cluster of its own there`,
      );
    });
    return { url: working, stop: async () => {}, kind: "reused" };
  }
  let bin = findPostgresBin();
  if (!bin && aptInstall(["postgresql"])) bin = findPostgresBin();
  if (bin) {
    const started = await startOwnCluster(u, bin, clusterDir);
    await createDatabaseIfMissing(started.url);
    return started;
  }
  if (!o.pgliteDir) {
    throw new Error(
      `no PostgreSQL at ${host}:${port} and no PostgreSQL installed to start one; install it (apt-get install postgresql) or set TAILOR_DATABASE_URL to a server that answers`,
    );
  }
  return startPglite(url, o.pgliteDir);
}

/** The folder with initdb and postgres: Debian's newest /usr/lib/postgresql/<v>/bin, or PATH. */
function findPostgresBin(): string | undefined {
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, "bin", "initdb")))
      .sort((a, b) => Number(a) - Number(b));
    const v = versions.pop();
    if (v) return join(base, v, "bin");
  }
  const initdb = which("initdb");
  return initdb && which("postgres") ? join(initdb, "..") : undefined;
}

/** PostgreSQL refuses to run as root: a root launcher runs it as the `postgres` user. */
function runAs(): { uid: number; gid: number; home: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  const [, , uid, gid, , home] = line?.split(":") ?? [];
  if (!uid || !gid)
    throw new Error("running as root, but there is no postgres user to run PostgreSQL as");
  return { uid: Number(uid), gid: Number(gid), home: home || "/var/lib/postgresql" };
}

/**
 * Where the cluster's data lives. Normally `clusterDir/data`; but when root runs it as the
 * `postgres` user and that user cannot reach `clusterDir` (a checkout under a 0700 folder such
 * as one made by mktemp), in the postgres user's home, named after `clusterDir`.
 */
function dataDirFor(clusterDir: string, owner: ReturnType<typeof runAs>): string {
  const preferred = join(clusterDir, "data");
  if (!owner) return preferred;
  const reach = spawnSync("test", ["-x", clusterDir, "-a", "-w", clusterDir], {
    uid: owner.uid,
    gid: owner.gid,
  });
  if (reach.status === 0) return preferred;
  const id = createHash("sha256").update(resolve(clusterDir)).digest("hex").slice(0, 12);
  const base = join(owner.home, "tailor-clusters");
  mkdirSync(base, { recursive: true, mode: 0o700 });
  chownSync(base, owner.uid, owner.gid);
  return join(base, id);
}

const passwordFile = (clusterDir: string) => join(clusterDir, "password");

/**
 * A cluster of our own in `clusterDir/data`, listening only on the URL's host and port, its
 * socket inside the (0700) data folder. Its superuser is the URL's user with the URL's password,
 * or a generated one kept in `clusterDir/password` (0600) — never a fixed one.
 */
async function startOwnCluster(u: URL, bin: string, clusterDir: string): Promise<Started> {
  const user = decodeURIComponent(u.username) || "postgres";
  const port = u.port || "5432";
  const owner = runAs();
  mkdirSync(clusterDir, { recursive: true, mode: 0o755 });
  const data = dataDirFor(clusterDir, owner);
  let password = decodeURIComponent(u.password);
  if (!existsSync(join(data, "PG_VERSION"))) {
    say("setup", `initialising a PostgreSQL cluster of our own in ${data}`);
    await rm(data, { recursive: true, force: true });
    mkdirSync(data, { mode: 0o700 });
    if (owner) chownSync(data, owner.uid, owner.gid);
    if (!password) {
      password = randomBytes(18).toString("base64url");
      await writeFile(passwordFile(clusterDir), `${password}\n`, { mode: 0o600 });
    }
    // initdb reads the password from a file: one only its reader can open, removed right after.
    const pwInit = join(dirname(data), `.pwinit-${process.pid}`);
    await writeFile(pwInit, `${password}\n`, { mode: 0o600 });
    if (owner) chownSync(pwInit, owner.uid, owner.gid);
    try {
      execFileSync(
        join(bin, "initdb"),
        ["-D", data, "-U", user, "--pwfile", pwInit, "--auth-local=trust"].concat([
          "--auth-host=scram-sha-256",
          "-E",
          "UTF8",
          "--no-instructions",
        ]),
        { stdio: "pipe", uid: owner?.uid, gid: owner?.gid, cwd: data },
      );
    } finally {
      await rm(pwInit, { force: true });
    }
  } else if (!password && existsSync(passwordFile(clusterDir))) {
    password = readFileSync(passwordFile(clusterDir), "utf8").trim();
  }
  say("setup", `starting PostgreSQL (${bin}) on ${u.hostname}:${port}, data in ${data}`);
  const child = spawn(
    join(bin, "postgres"),
    ["-D", data, "-p", port, "-c", `listen_addresses=${u.hostname}`].concat([
      "-c",
      `unix_socket_directories=${data}`,
      "-c",
      "unix_socket_permissions=0700",
    ]),
    { stdio: ["ignore", "ignore", "pipe"], uid: owner?.uid, gid: owner?.gid, cwd: data },
  );
  const log: string[] = [];
  child.stderr?.on("data", (b: Buffer) => {
    log.push(...b.toString().split("\n").filter(Boolean));
    log.splice(0, Math.max(0, log.length - 20));
  });
  const withPw = new URL(u);
  withPw.username = encodeURIComponent(user);
  withPw.password = encodeURIComponent(password);
  await waitAccepting(withPw.toString(), child, log);
  return { url: withPw.toString(), kind: "started", stop: () => stopPostgres(child) };
}

/** Polls until the server takes a query (it accepts TCP while still starting up). */
async function waitAccepting(url: string, child: ChildProcess, log: string[]): Promise<void> {
  const end = Date.now() + 60_000;
  while (true) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`PostgreSQL exited during start-up: ${log.slice(-3).join(" | ")}`);
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await c.connect();
      await c.end();
      return;
    } catch (err) {
      await c.end().catch(() => {});
      if (["28P01", "28000"].includes((err as { code?: string }).code ?? "")) {
        child.kill("SIGINT");
        throw new Error(
          `PostgreSQL started but refused the login (${(err as Error).message}); put the cluster's password in TAILOR_DATABASE_URL`,
        );
      }
    }
    if (Date.now() > end) {
      child.kill("SIGKILL");
      throw new Error(
        `PostgreSQL did not accept connections in 60 s: ${log.slice(-3).join(" | ")}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** SIGINT is PostgreSQL's fast shutdown: it ends open sessions instead of waiting for them. */
function stopPostgres(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = stopChild(child, 30_000);
  child.kill("SIGINT");
  return exited;
}

/**
 * The URL as given when it logs in; otherwise, when it names no password and a cluster of ours
 * left running by an earlier run holds the port, the URL with that cluster's password.
 */
async function withStoredPassword(url: string, clusterDir: string): Promise<string> {
  const u = new URL(url);
  const file = passwordFile(clusterDir);
  if (u.password || !existsSync(file)) return url;
  try {
    await tryConnect(adminUrl(url));
    return url;
  } catch {
    // A login refused for want of a password (pg fails before the server says so for SCRAM).
  }
  u.password = encodeURIComponent(readFileSync(file, "utf8").trim());
  if (!u.username) u.username = "postgres";
  try {
    await tryConnect(adminUrl(u.toString()));
    return u.toString();
  } catch {
    return url;
  }
}

async function tryConnect(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
  } finally {
    await c.end().catch(() => {});
  }
}

function adminUrl(url: string): string {
  const admin = new URL(url);
  admin.pathname = "/postgres";
  return admin.toString();
}

async function createDatabaseIfMissing(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1)) || "postgres";
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) return;
  const c = new pg.Client({ connectionString: adminUrl(url) });
  await c.connect();
  try {
    const r = await c.query("select 1 from pg_database where datname = $1", [name]);
    if (r.rowCount === 0) await c.query(`CREATE DATABASE ${name}`);
  } catch (err) {
    if ((err as { code?: string }).code !== "42P04") throw err;
  } finally {
    await c.end();
  }
}

/** Last resort of the demo for a user who cannot install PostgreSQL: PGlite on the port. */
async function startPglite(url: string, dir: string): Promise<Started> {
  const u = new URL(url);
  const host = u.hostname;
  const port = Number(u.port || 5432);
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  mkdirSync(dir, { recursive: true });
  const db = await PGlite.create(dir);
  const server = new PGLiteSocketServer({ db, host, port, maxConnections: 32 });
  await server.start();
  say("setup", `no PostgreSQL at ${host}:${port}: started embedded PGlite there (data in ${dir})`);
  return {
    url,
    kind: "pglite",
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
