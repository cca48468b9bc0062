/**
 * The form that sets an environment variable: the project's (`machineId` null) or one machine's override.
 * Setting a key already set in that scope replaces its value; the value clears once saved and is never shown
 * again. The key is controlled by the caller, so a table's "Replace" can fill it in.
 */
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, type RefObject, useId, useState } from "react";

import { errorMessage } from "../lib/errors.ts";
import { useTRPC } from "../lib/trpc.ts";
import { useProjectInput } from "../routes/project.tsx";
import { Button } from "./ui/button.tsx";
import { ErrorText, inputClasses, TextField } from "./ui/field.tsx";

const KEY_PATTERN = /^[A-Z_][A-Z0-9_]*$/;

export function EnvVarForm({
  machineId,
  keyValue,
  onKeyChange,
  submitLabel,
  keyPlaceholder,
  savedText,
  valueInput,
}: {
  machineId: string | null;
  keyValue: string;
  onKeyChange: (key: string) => void;
  submitLabel: string;
  keyPlaceholder: string;
  savedText: (key: string) => string;
  valueInput?: RefObject<HTMLTextAreaElement | null>;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const input = useProjectInput();
  const valueId = useId();
  const [value, setValue] = useState("");
  const [savedKey, setSavedKey] = useState<string | null>(null);
  const set = useMutation(
    trpc.envVar.set.mutationOptions({
      onSuccess: async (result) => {
        setSavedKey(result.key);
        onKeyChange("");
        setValue("");
        // The lists, and the machines that now run with an older env ("restart to apply").
        await Promise.all([
          queryClient.invalidateQueries({ queryKey: trpc.envVar.list.queryKey(input) }),
          queryClient.invalidateQueries({ queryKey: trpc.machine.pathKey() }),
        ]);
      },
    }),
  );
  const keyProblem =
    keyValue && !KEY_PATTERN.test(keyValue)
      ? "Use uppercase letters, digits and underscores, not starting with a digit."
      : null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSavedKey(null);
    set.mutate({ ...input, key: keyValue, value, machineId });
  };
  return (
    <>
      <form onSubmit={submit} className="grid gap-3 md:grid-cols-[minmax(0,16rem)_minmax(0,1fr)_auto] md:items-start">
        <TextField
          label="Key"
          name="key"
          required
          value={keyValue}
          onChange={(event) => {
            onKeyChange(event.target.value.toUpperCase().replace(/[\s-]/g, "_"));
            setSavedKey(null);
          }}
          placeholder={keyPlaceholder}
          autoComplete="off"
          spellCheck={false}
          className="[&_input]:font-mono"
          error={keyProblem}
        />
        <div className="space-y-1.5">
          <label htmlFor={valueId} className="block text-sm font-medium text-zinc-800">
            Value
          </label>
          <textarea
            id={valueId}
            ref={valueInput}
            name="value"
            rows={1}
            value={value}
            onChange={(event) => setValue(event.target.value)}
            autoComplete="off"
            spellCheck={false}
            className={inputClasses("min-h-[38px] resize-y font-mono")}
            placeholder="Stored encrypted; never shown again"
          />
        </div>
        <Button
          type="submit"
          variant="primary"
          pending={set.isPending}
          disabled={Boolean(keyProblem)}
          className="md:mt-[26px] md:h-[38px]"
        >
          {submitLabel}
        </Button>
      </form>
      <div aria-live="polite" className="mt-2 text-sm">
        {set.error ? <ErrorText>{errorMessage(set.error)}</ErrorText> : null}
        {savedKey ? <p className="text-emerald-700">{savedText(savedKey)}</p> : null}
      </div>
    </>
  );
}
