import type { Bus } from "@tailor/bus";
import { loadCisi } from "@tailor/eval";
import { JobState } from "@tailor/proto";
import {
  CISI_TENANT,
  HELDOUT_SET,
  importCisiEvalSets,
  ingestCisi,
  type LoopClients,
  loopTurn,
  TRAIN_SET,
} from "./loop-turn.js";
import { say } from "./output.js";

/**
 * The demo's turn of the customisation loop, on CISI (1460 abstracts with judged queries from
 * ../shared/data/cisi, or TAILOR_CISI_DIR): baseline, a target the baseline misses, training
 * started by the evaluator's eval.regressed, the gate on held-out queries, promotion.
 */
export async function demoLoopTurn(bus: Bus, c: LoopClients, kind: string): Promise<void> {
  let cisi: ReturnType<typeof loadCisi>;
  try {
    cisi = loadCisi();
  } catch (err) {
    say("loop", `skipped: the CISI collection is not readable (${(err as Error).message})`);
    return;
  }
  say("loop", `ingesting ${cisi.docs.length} CISI abstracts as tenant "${CISI_TENANT}"`);
  const ingested = await ingestCisi(bus, c, { cisi });
  say("loop", `searchable: ${ingested.documents} documents (${ingested.ms} ms)`);
  await importCisiEvalSets(c, { cisi });
  say(
    "loop",
    `eval sets: ${TRAIN_SET} (odd judged queries, for training) and ${HELDOUT_SET} (even, held out)`,
  );
  let last = "";
  const t = await loopTurn(c, {
    kind,
    log: (line) => say("loop", line),
    // One line per stage of the job (its progress bar is `tailor train`'s job).
    onJob: (job) => {
      const stage = `${JobState[job.state].toLowerCase()} ${job.stage.split(":")[0]}`;
      if (stage !== last)
        say("trainer", `job ${job.id}: ${stage} (${(job.progress * 100).toFixed(0)}%)`);
      last = stage;
    },
  });
  // The report's comparison table (per metric: champion, candidate, Δ, paired p-value).
  let inTable = false;
  for (const line of (t.report?.markdown ?? "").split("\n")) {
    if (line.startsWith("| metric | champion")) inTable = true;
    else if (!line.startsWith("|")) inTable = false;
    if (inTable) process.stdout.write(`  ${line}\n`);
  }
  say(
    "loop",
    t.promoted
      ? `gate passed: ${t.job.version} promoted (canary, then prod); prod serves ${t.prod}`
      : `gate failed: ${t.job.version} rejected; prod still serves ${t.prod}`,
  );
  say(
    "loop",
    `one turn took ${(t.ms.total / 1000).toFixed(1)} s (training ${(t.ms.training / 1000).toFixed(1)} s)`,
  );
}
