/**
 * The key and value cells every env var table starts with. Secret values never reach the browser: they show
 * as a mask, an empty one as "empty"; os2's own non-secret values (the machine id, the stage) in full.
 */
import { td } from "./ui/misc.tsx";

export function EnvVarCells({
  envKey,
  maskedValue,
  empty = false,
  value = null,
}: {
  envKey: string;
  maskedValue: string;
  empty?: boolean;
  value?: string | null;
}) {
  return (
    <>
      <td className={`${td} font-mono text-[13px] font-medium break-all text-zinc-900`}>{envKey}</td>
      <td className={`${td} font-mono text-zinc-500`} data-testid={`env-value-${envKey}`}>
        {value !== null ? (
          <span className="text-[13px] break-all text-zinc-800">{value}</span>
        ) : empty ? (
          <span className="font-sans text-xs text-zinc-400 italic">empty</span>
        ) : (
          <span aria-label="hidden value">{maskedValue}</span>
        )}
      </td>
    </>
  );
}
