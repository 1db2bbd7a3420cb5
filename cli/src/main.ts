import { main } from "./entry.js";

// `tailor list … | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Everything is written and closed by now; a connection attempt that never completes (a NATS
  // address that swallows packets) must not keep the process alive after the answer.
  setTimeout(() => process.exit(code), 250).unref();
});
