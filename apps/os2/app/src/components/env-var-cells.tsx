/** The key and masked-value cells every env var table starts with; values never reach the browser. */
import { td } from "./ui/misc.tsx";

export function EnvVarCells({ envKey, maskedValue }: { envKey: string; maskedValue: string }) {
  return (
    <>
      <td className={`${td} font-mono text-[13px] font-medium break-all text-zinc-900`}>{envKey}</td>
      <td className={`${td} font-mono text-zinc-500`}>
        <span aria-label="hidden value">{maskedValue}</span>
      </td>
    </>
  );
}
