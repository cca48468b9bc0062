/** Readable default machine names like `brave-otter-42`: valid for the server's 1–63 `[a-z0-9-]` rule. */
const ADJECTIVES = [
  "brave",
  "calm",
  "clever",
  "eager",
  "gentle",
  "happy",
  "jolly",
  "keen",
  "lively",
  "lucky",
  "mellow",
  "nimble",
  "proud",
  "quick",
  "quiet",
  "rapid",
  "sunny",
  "swift",
  "tidy",
  "witty",
];
const ANIMALS = [
  "badger",
  "beaver",
  "crane",
  "falcon",
  "ferret",
  "gecko",
  "heron",
  "koala",
  "lemur",
  "lynx",
  "marten",
  "otter",
  "panda",
  "puffin",
  "raven",
  "seal",
  "stoat",
  "tapir",
  "walrus",
  "wombat",
];

function pick<T>(items: readonly T[]): T {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error("pick() needs a non-empty list");
  return item;
}

export function randomMachineName(): string {
  return `${pick(ADJECTIVES)}-${pick(ANIMALS)}-${10 + Math.floor(Math.random() * 90)}`;
}

export const MACHINE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
