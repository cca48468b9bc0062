/**
 * CPU, memory and process fields for a machine's limits, each bounded by the organization's maximum and
 * saying so. Values are kept as text while typed; `parseLimitsDraft` turns them into the API's units.
 */
import { TextField } from "../ui/field.tsx";
import { formatCpus, formatMemory, type Limits } from "./machine-limits.ts";

export type LimitsDraft = { cpus: string; memoryGiB: string; pids: string };

export function draftOf(limits: Limits): LimitsDraft {
  return {
    cpus: String(limits.cpuMillis / 1000),
    memoryGiB: String(limits.memoryMb / 1024),
    pids: String(limits.pids),
  };
}

export type ParsedLimits = { cpus: number; memoryMb: number; pids: number };

/** The draft in the API's units, or the first field's problem (naming the maximum). */
export function parseLimitsDraft(
  draft: LimitsDraft,
  maximum: Limits,
): { ok: true; limits: ParsedLimits } | { ok: false; field: keyof LimitsDraft; message: string } {
  const cpus = Number(draft.cpus);
  if (!Number.isFinite(cpus) || cpus < 0.1) return { ok: false, field: "cpus", message: "Use at least 0.1 CPU." };
  if (cpus * 1000 > maximum.cpuMillis) {
    return { ok: false, field: "cpus", message: `At most ${formatCpus(maximum.cpuMillis)} in this organization.` };
  }
  const memoryMb = Math.round(Number(draft.memoryGiB) * 1024);
  if (!Number.isFinite(memoryMb) || memoryMb < 128)
    return { ok: false, field: "memoryGiB", message: "Use at least 0.125 GiB." };
  if (memoryMb > maximum.memoryMb) {
    return {
      ok: false,
      field: "memoryGiB",
      message: `At most ${formatMemory(maximum.memoryMb)} in this organization.`,
    };
  }
  const pids = Number(draft.pids);
  if (!Number.isInteger(pids) || pids < 64)
    return { ok: false, field: "pids", message: "Allow at least 64 processes." };
  if (pids > maximum.pids)
    return { ok: false, field: "pids", message: `At most ${maximum.pids} in this organization.` };
  return { ok: true, limits: { cpus, memoryMb, pids } };
}

export function LimitsFields({
  draft,
  maximum,
  onChange,
  problem,
  disabled = false,
}: {
  draft: LimitsDraft;
  maximum: Limits;
  onChange: (draft: LimitsDraft) => void;
  problem: { field: keyof LimitsDraft; message: string } | null;
  disabled?: boolean;
}) {
  const errorFor = (field: keyof LimitsDraft) => (problem?.field === field ? problem.message : null);
  return (
    <div className="grid grid-cols-3 gap-3">
      <TextField
        label="CPUs"
        name="cpus"
        type="number"
        inputMode="decimal"
        step="any"
        min="0.1"
        max={maximum.cpuMillis / 1000}
        value={draft.cpus}
        disabled={disabled}
        onChange={(event) => onChange({ ...draft, cpus: event.target.value })}
        hint={`max ${maximum.cpuMillis / 1000}`}
        error={errorFor("cpus")}
      />
      <TextField
        label="Memory (GiB)"
        name="memory"
        type="number"
        inputMode="decimal"
        step="any"
        min="0.125"
        max={maximum.memoryMb / 1024}
        value={draft.memoryGiB}
        disabled={disabled}
        onChange={(event) => onChange({ ...draft, memoryGiB: event.target.value })}
        hint={`max ${formatMemory(maximum.memoryMb)}, no swap`}
        error={errorFor("memoryGiB")}
      />
      <TextField
        label="Processes"
        name="pids"
        type="number"
        inputMode="numeric"
        step="1"
        min="64"
        max={maximum.pids}
        value={draft.pids}
        disabled={disabled}
        onChange={(event) => onChange({ ...draft, pids: event.target.value })}
        hint={`max ${maximum.pids}`}
        error={errorFor("pids")}
      />
    </div>
  );
}
