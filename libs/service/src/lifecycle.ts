import type { Logger } from "@tailor/telemetry";

/** What every Tailor service library exports: build it, start it, destroy it (idempotent). */
export interface Service {
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * The body of every `main.ts`: create and start the service, stop it cleanly on SIGTERM/SIGINT,
 * and fail with a clear log line (and exit code 1) when start-up fails.
 */
export async function runService(
  name: string,
  logger: Logger,
  create: () => Promise<Service> | Service,
): Promise<void> {
  let service: Service | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${name} stopping`);
    try {
      await service?.destroy();
      logger.info(`${name} stopped`);
    } catch (err) {
      logger.error({ err }, `${name} failed to stop cleanly`);
      process.exitCode = 1;
    }
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
  // Started by a launcher with an IPC channel: when the launcher is gone, stop too instead of
  // lingering as an orphan that holds ports and consumers.
  if (process.send) {
    process.once("disconnect", () => void stop("launcher exited"));
    process.channel?.unref();
  }
  try {
    service = await create();
    await service.start();
    logger.info(`${name} started`);
    // Tells a launcher that this process, not another holding the port, is the one serving.
    process.send?.({ tailor: "ready" });
  } catch (err) {
    logger.fatal(
      { err: err instanceof Error ? { name: err.name, message: err.message } : err },
      `${name} failed to start`,
    );
    process.exitCode = 1;
    await service?.destroy().catch(() => {});
    // Open handles (sockets being retried) would keep a failed process alive.
    setTimeout(() => process.exit(1), 1000).unref();
  }
}
