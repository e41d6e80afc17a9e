import { DataError, InsufficientDataError } from "../../core/data/errors";
import { SplitError } from "../../core/data/split";

/**
 * Runs a CLI body: mistakes in arguments or data print one clear line (and the usage) and exit 2,
 * instead of a stack trace; anything else is a bug and keeps its stack.
 */
export async function runCli(usage: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (error instanceof DataError || error instanceof InsufficientDataError || error instanceof SplitError || error instanceof UsageError || (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"))) {
      console.error(`error: ${(error as Error).message}`);
      if (!(error instanceof DataError || error instanceof InsufficientDataError)) console.error(usage);
      process.exit(2);
    }
    throw error;
  }
}

export class UsageError extends Error {
  override name = "UsageError";
}
