// Entry point: node --import tsx sts/main.ts --config <file>
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
  const stop = (signal: string) => {
    logger.info("stopping", { signal });
    sts.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
} catch (e) {
  logger.error("failed to start", { reason: (e as Error).message });
  process.exit(1);
}
