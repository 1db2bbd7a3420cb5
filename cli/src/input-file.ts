import { open, stat } from "node:fs/promises";
import { CliError } from "./errors.js";

/** Largest eval-set file sent in one request; the evaluator refuses requests over 64 MiB. */
export const MAX_INPUT_BYTES = 24 * 1024 * 1024;

/**
 * Reads a file the user named, checked before anything is sent: a regular file, readable, at
 * most `maxBytes`, valid UTF-8. Errors name the option and the file.
 */
export async function readInputFile(
  path: string,
  option: string,
  maxBytes = MAX_INPUT_BYTES,
): Promise<string> {
  const fail = (err: NodeJS.ErrnoException): never => {
    throw new CliError(`${option} ${path}: ${why(err)}`);
  };
  // Checked before opening: opening a FIFO would wait for a writer.
  const first = await stat(path).catch(fail);
  if (first.isDirectory()) throw new CliError(`${option} ${path}: is a folder, expected a file`);
  if (!first.isFile()) throw new CliError(`${option} ${path}: not a regular file`);
  const handle = await open(path, "r").catch(fail);
  try {
    const info = await handle.stat();
    if (info.size > maxBytes)
      throw new CliError(
        `${option} ${path}: ${mib(info.size)} MiB, over the limit of ${mib(maxBytes)} MiB`,
      );
    // Read at most one byte past the limit: a file that grows while we read stays bounded.
    const buf = Buffer.alloc(Math.min(info.size, maxBytes) + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > maxBytes)
      throw new CliError(`${option} ${path}: over the limit of ${mib(maxBytes)} MiB`);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(buf.subarray(0, bytesRead));
    } catch {
      throw new CliError(`${option} ${path}: not valid UTF-8`);
    }
  } finally {
    await handle.close();
  }
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 0);
}

function why(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a folder, expected a file";
    default:
      return err.message;
  }
}
