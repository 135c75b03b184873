// Entry point: node --import tsx sts/main.ts --config <file> (in the image: node /app/sts/main.mjs, the esbuild bundle)
import { startSts } from "./app.ts";
import { logger } from "./log.ts";

function configPath(argv: string[]): string {
  const i = argv.indexOf("--config");
  const path = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith("--config="))?.slice("--config=".length);
  if (!path) {
    logger.error("usage: sts/main.ts --config <file>");
    process.exit(2);
  }
  return path;
}

try {
  const sts = await startSts(configPath(process.argv.slice(2)));
  // SIGTERM/SIGINT: graceful. The listener closes at once (new connections are refused; the
  // pod is already leaving its Service's endpoints), in-flight requests finish, then exit 0.
  // Requests are bounded by limits.requestTimeoutMs, and so is the drain; a second signal, or
  // a drain that somehow overruns by 2 s, ends the process at once.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn("second signal: exiting without waiting for in-flight requests", { signal });
      process.exit(1);
    }
    stopping = true;
    const drainMs = sts.ctx.state().config.limits.requestTimeoutMs;
    logger.info("stopping: draining in-flight requests", { signal, drainMs });
    sts.shutdown(drainMs).then(
      ({ forced }) => {
        logger.info("stopped", { forced });
        process.exit(0);
      },
      (e) => {
        logger.error("shutdown failed", { reason: (e as Error).message });
        process.exit(1);
      },
    );
    setTimeout(() => {
      logger.error("shutdown overran its bound", { drainMs });
      process.exit(1);
    }, drainMs + 2000).unref();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
} catch (e) {
  logger.error("failed to start", { reason: (e as Error).message });
  process.exit(1);
}
