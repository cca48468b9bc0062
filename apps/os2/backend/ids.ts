/**
 * Prefixed, sortable ids (TypeID: a type prefix plus a UUIDv7 in base32), e.g. `org_01jx…`.
 * Sortable because UUIDv7 starts with a millisecond timestamp.
 */
import { typeid } from "typeid-js";

export const ID_PREFIXES = {
  user: "usr",
  session: "ses",
  account: "acc",
  verification: "ver",
  organization: "org",
  membership: "mem",
  project: "prj",
  envVar: "env",
  accessToken: "pat",
  machine: "mach",
  machineEvent: "mev",
  previewToken: "pvt",
  previewTicket: "pvk",
  previewSession: "pvs",
  installation: "inst",
  rateLimit: "rl",
  warmPoolMember: "pool",
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

export function newId(kind: IdKind): string {
  return typeid(ID_PREFIXES[kind]).toString();
}
