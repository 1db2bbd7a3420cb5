import { createServer } from "node:net";

/** A port a service needs is held by another process. */
export class PortInUseError extends Error {
  override readonly name = "PortInUseError";
  readonly code = "port_in_use";
  constructor(
    readonly port: number,
    readonly host: string,
    readonly service: string,
    readonly variable: string,
  ) {
    super(
      `port ${port} on ${host} (${service}, ${variable}) is already in use — another Tailor stack or program holds it; stop it or set ${variable} to a free port`,
    );
  }
}

/** Resolves whether host:port can be listened on right now (the listener is closed at once). */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE" || err.code === "EACCES") resolve(false);
      else reject(err);
    });
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Fails with a PortInUseError naming the first port that cannot be listened on. */
export async function assertPortsFree(
  host: string,
  wanted: { service: string; port: number; variable: string }[],
): Promise<void> {
  for (const w of wanted) {
    if (!(await portFree(host, w.port)))
      throw new PortInUseError(w.port, host, w.service, w.variable);
  }
}
