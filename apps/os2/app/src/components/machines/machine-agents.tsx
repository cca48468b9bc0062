/**
 * Agents on the machine's daemon: list with their true status (running, waiting for input, exited with its
 * code, stopped), a form to start one (harness, prompt, working directory) that says first when the
 * harness's credential is missing, start / stop / delete, "Attach" (a terminal on the agent's own tmux
 * session, to answer it), and for an agent that ended, the last screen it left (a failure shows its last
 * lines at once).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { clsx } from "clsx";
import { type FormEvent, lazy, Suspense, useId, useState } from "react";

import { errorMessage } from "../../lib/errors.ts";
import { formatFull } from "../../lib/format.ts";
import { useProjectInput } from "../../routes/project.tsx";
import { Button } from "../ui/button.tsx";
import { ConfirmDialog } from "../ui/dialog.tsx";
import { ErrorText, inputClasses, SelectField, TextField } from "../ui/field.tsx";
import { Card, CardBody, CardHeader, EmptyState, PendingBlock } from "../ui/misc.tsx";
import { type Agent, daemon, daemonKeys, DaemonRequestError, type Harness, HARNESSES } from "./daemon-client.ts";
import { LogView } from "./log-view.tsx";
import { formatPast } from "./relative-time.ts";

// xterm.js is the heaviest dependency of the SPA: load it only when an agent is attached.
const MachineTerminal = lazy(() => import("./machine-terminal.tsx"));
const AGENT_TERMINAL_HEIGHT = "h-[clamp(18rem,60dvh,36rem)]";
/** Lines of a failed agent's last screen shown without asking. */
const FAILURE_LINES = 12;

const HARNESS_LABELS: Record<Harness, string> = {
  shell: "Shell",
  "claude-code": "Claude Code",
  opencode: "OpenCode",
  pi: "Pi",
};

const PROMPT_HINTS: Record<Harness, string> = {
  shell: "A command typed into a login shell, e.g. pnpm test",
  "claude-code": "The first message to Claude Code",
  opencode: "The first message to OpenCode",
  pi: "The first message to Pi",
};

/** Client errors will not change on a retry; a machine that is still booting (502) might. */
export function retryDaemon(failureCount: number, error: unknown): boolean {
  if (error instanceof DaemonRequestError && error.status < 500) return false;
  return failureCount < 2;
}

export function MachineAgents({ machineId, proxyPath }: { machineId: string; proxyPath: string }) {
  return (
    <div className="space-y-6">
      <AgentList machineId={machineId} proxyPath={proxyPath} />
      <CreateAgentCard machineId={machineId} proxyPath={proxyPath} />
    </div>
  );
}

function CreateAgentCard({ machineId, proxyPath }: { machineId: string; proxyPath: string }) {
  const queryClient = useQueryClient();
  const promptId = useId();
  const [harness, setHarness] = useState<Harness>("claude-code");
  const [name, setName] = useState("");
  const [cwd, setCwd] = useState("");
  const [prompt, setPrompt] = useState("");
  const preflight = useQuery({
    queryKey: daemonKeys.agentPreflight(machineId, harness),
    queryFn: () => daemon.agentPreflight(proxyPath, harness),
    // A daemon from before the check answers 404: then the start itself is the check.
    retry: false,
    staleTime: 10_000,
  });
  const missingCredential = preflight.data && !preflight.data.ready ? preflight.data.message : null;
  const create = useMutation({
    mutationFn: () =>
      daemon.createAgent(proxyPath, {
        harness,
        prompt,
        ...(name.trim() ? { name: name.trim() } : {}),
        ...(cwd.trim() ? { cwd: cwd.trim() } : {}),
      }),
    onSuccess: async () => {
      setPrompt("");
      setName("");
      await queryClient.invalidateQueries({ queryKey: daemonKeys.agents(machineId) });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <Card>
      <CardHeader
        title="Start an agent"
        description="Each agent runs in its own tmux session on the machine and survives daemon restarts."
      />
      <CardBody>
        <form onSubmit={submit} className="space-y-3">
          <div className="grid gap-3 sm:grid-cols-3">
            <SelectField
              label="Harness"
              name="harness"
              value={harness}
              onChange={(event) => setHarness(parseHarness(event.target.value))}
            >
              {HARNESSES.map((option) => (
                <option key={option} value={option}>
                  {HARNESS_LABELS[option]}
                </option>
              ))}
            </SelectField>
            <TextField
              label="Name"
              name="agent-name"
              value={name}
              onChange={(event) => setName(event.target.value)}
              placeholder="optional"
              autoComplete="off"
            />
            <TextField
              label="Working directory"
              name="cwd"
              value={cwd}
              onChange={(event) => setCwd(event.target.value)}
              placeholder="/workspace"
              autoComplete="off"
              spellCheck={false}
              className="[&_input]:font-mono"
            />
          </div>
          <div className="space-y-1.5">
            <label htmlFor={promptId} className="block text-sm font-medium text-zinc-800">
              Prompt
            </label>
            <textarea
              id={promptId}
              name="prompt"
              rows={3}
              value={prompt}
              onChange={(event) => setPrompt(event.target.value)}
              onKeyDown={(event) => {
                if (event.key === "Enter" && (event.metaKey || event.ctrlKey))
                  event.currentTarget.form?.requestSubmit();
              }}
              placeholder={PROMPT_HINTS[harness]}
              className={inputClasses("resize-y")}
            />
            <p className="text-xs text-zinc-500">Ctrl+Enter starts the agent.</p>
          </div>
          {missingCredential ? <MissingCredential message={missingCredential} /> : null}
          {create.error ? <ErrorText>{errorMessage(create.error)}</ErrorText> : null}
          <div className="flex justify-end">
            <Button type="submit" variant="primary" pending={create.isPending} disabled={missingCredential !== null}>
              Start agent
            </Button>
          </div>
        </form>
      </CardBody>
    </Card>
  );
}

function MissingCredential({ message }: { message: string }) {
  const input = useProjectInput();
  return (
    <div
      role="alert"
      data-testid="agent-missing-credential"
      className="rounded-lg border border-amber-200 bg-amber-50 px-3 py-2.5 text-sm text-amber-900"
    >
      <p>{message}</p>
      <Link
        to="/orgs/$org/projects/$project/env-vars"
        params={{ org: input.organizationSlug, project: input.projectSlug }}
        className="mt-1 inline-block font-medium text-amber-900 underline"
      >
        Open the project's env vars
      </Link>
    </div>
  );
}

function parseHarness(value: string): Harness {
  return HARNESSES.find((harness) => harness === value) ?? "shell";
}

function AgentList({ machineId, proxyPath }: { machineId: string; proxyPath: string }) {
  const agents = useQuery({
    queryKey: daemonKeys.agents(machineId),
    queryFn: () => daemon.listAgents(proxyPath),
    refetchInterval: 5_000,
    retry: retryDaemon,
  });
  /** The one agent whose terminal (alive) or last screen (ended) is open. */
  const [openOutput, setOpenOutput] = useState<string | null>(null);
  return (
    <Card>
      <CardHeader
        title="Agents"
        description={
          agents.data
            ? `${agents.data.filter((agent) => isAlive(agent)).length} running of ${agents.data.length}`
            : undefined
        }
        actions={
          <Button
            size="sm"
            variant="secondary"
            pending={agents.isFetching && !agents.isPending}
            onClick={() => void agents.refetch()}
          >
            Refresh
          </Button>
        }
      />
      {agents.isPending ? <PendingBlock label="Asking the daemon…" /> : null}
      {agents.error ? <ErrorText className="px-5 py-4">{errorMessage(agents.error)}</ErrorText> : null}
      {agents.data?.length === 0 ? (
        <EmptyState title="No agents yet">Start one below: Claude Code, OpenCode, Pi or a plain shell.</EmptyState>
      ) : null}
      {agents.data && agents.data.length > 0 ? (
        <ul className="divide-y divide-zinc-100" aria-label="Agents">
          {agents.data.map((agent) => (
            <AgentItem
              key={agent.id}
              agent={agent}
              machineId={machineId}
              proxyPath={proxyPath}
              outputOpen={openOutput === agent.id}
              onToggleOutput={() => setOpenOutput((current) => (current === agent.id ? null : agent.id))}
            />
          ))}
        </ul>
      ) : null}
    </Card>
  );
}

const isAlive = (agent: Agent) => agent.status === "running" || agent.status === "waiting";

function statusLabel(agent: Agent): string {
  if (agent.status === "exited") return agent.exitCode !== null ? `exited ${agent.exitCode}` : "exited";
  if (agent.status === "waiting") return "waiting for input";
  return agent.status;
}

const AGENT_STATUS_TONES: Record<Agent["status"], string> = {
  running: "bg-emerald-50 text-emerald-800 ring-emerald-200",
  waiting: "bg-amber-50 text-amber-800 ring-amber-200",
  exited: "bg-zinc-100 text-zinc-700 ring-zinc-200",
  stopped: "bg-zinc-50 text-zinc-500 ring-zinc-200",
};

function AgentItem({
  agent,
  machineId,
  proxyPath,
  outputOpen,
  onToggleOutput,
}: {
  agent: Agent;
  machineId: string;
  proxyPath: string;
  outputOpen: boolean;
  onToggleOutput: () => void;
}) {
  const queryClient = useQueryClient();
  const refresh = () => queryClient.invalidateQueries({ queryKey: daemonKeys.agents(machineId) });
  const action = useMutation({
    mutationFn: (kind: "start" | "stop") =>
      kind === "start" ? daemon.startAgent(proxyPath, agent.id) : daemon.stopAgent(proxyPath, agent.id),
    onSettled: refresh,
  });
  const outputId = `agent-output-${agent.id}`;
  const alive = isAlive(agent);
  const failed = agent.status === "exited" && agent.exitCode !== 0;
  return (
    <li className="px-4 py-3 sm:px-5" data-agent-id={agent.id} aria-label={`Agent ${agent.name}`}>
      <div className="flex flex-col gap-2 sm:flex-row sm:items-center sm:justify-between">
        <div className="min-w-0">
          <div className="flex flex-wrap items-center gap-2">
            <span className="font-medium text-zinc-900">{agent.name}</span>
            <span
              data-testid="agent-status"
              data-status={agent.status}
              title={agent.statusDetail ?? undefined}
              className={clsx(
                "rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset",
                AGENT_STATUS_TONES[agent.status],
                failed && "bg-red-50 text-red-800 ring-red-200",
              )}
            >
              {statusLabel(agent)}
            </span>
            <span className="text-xs text-zinc-500">{HARNESS_LABELS[agent.harness]}</span>
          </div>
          <p className="mt-0.5 truncate text-xs text-zinc-500">
            <span className="font-mono">{agent.cwd}</span>
            {" · "}
            <span title={formatFull(agent.createdAt)}>created {formatPast(agent.createdAt)}</span>
            {agent.prompt ? <span className="text-zinc-400"> · {agent.prompt}</span> : null}
          </p>
          {agent.statusDetail && agent.status !== "running" ? (
            <p className="mt-0.5 text-xs text-zinc-500">{agent.statusDetail}</p>
          ) : null}
        </div>
        <div className="flex shrink-0 flex-wrap gap-1.5">
          <Button
            size="sm"
            variant={alive ? "primary" : "ghost"}
            onClick={onToggleOutput}
            aria-expanded={outputOpen}
            aria-controls={outputId}
          >
            {alive ? (outputOpen ? "Detach" : "Attach") : outputOpen ? "Hide output" : "Output"}
          </Button>
          {alive ? (
            <Button size="sm" variant="secondary" pending={action.isPending} onClick={() => action.mutate("stop")}>
              Stop
            </Button>
          ) : (
            <Button size="sm" variant="secondary" pending={action.isPending} onClick={() => action.mutate("start")}>
              Start
            </Button>
          )}
          <ConfirmDialog
            trigger={
              <Button size="sm" variant="danger-ghost" aria-label={`Delete agent ${agent.name}`}>
                Delete
              </Button>
            }
            title={`Delete agent ${agent.name}?`}
            description="Its tmux session is killed and its definition removed. Files it wrote stay on the machine."
            confirmLabel="Delete agent"
            onConfirm={async () => {
              await daemon.deleteAgent(proxyPath, agent.id);
              await refresh();
            }}
          />
        </div>
      </div>
      {action.error ? <ErrorText className="mt-2">{errorMessage(action.error)}</ErrorText> : null}
      {outputOpen && alive ? (
        <div id={outputId} className="mt-3">
          <Suspense fallback={<div className={`${AGENT_TERMINAL_HEIGHT} rounded-xl bg-zinc-950`} />}>
            <MachineTerminal
              proxyPath={proxyPath}
              enabled
              idleMessage=""
              tmuxSession={agent.tmuxSession}
              height={AGENT_TERMINAL_HEIGHT}
              testId="agent-terminal"
            />
          </Suspense>
          <p className="mt-2 text-xs text-zinc-500">
            Attached to the agent&apos;s tmux session <span className="font-mono">{agent.tmuxSession}</span>: what you
            type reaches it. Detaching leaves it running.
          </p>
        </div>
      ) : null}
      {outputOpen && !alive ? (
        <AgentOutput id={outputId} agent={agent} machineId={machineId} proxyPath={proxyPath} />
      ) : null}
      {!outputOpen && failed ? (
        <AgentOutput
          id={outputId}
          agent={agent}
          machineId={machineId}
          proxyPath={proxyPath}
          lastLines={FAILURE_LINES}
        />
      ) : null}
    </li>
  );
}

/** The last `count` lines a harness printed: without the blank rows below them and tmux's "Pane is dead" line. */
export function lastLinesOf(text: string, count: number): string {
  const lines = text.split("\n").filter((line) => !/^Pane is dead \(/.test(line));
  while (lines.length > 0 && (lines.at(-1) ?? "").trim() === "") lines.pop();
  return lines.slice(-count).join("\n");
}

/** The screen an agent that ended left (kept on the machine across restarts); `lastLines` trims it to its end. */
function AgentOutput({
  id,
  agent,
  machineId,
  proxyPath,
  lastLines,
}: {
  id: string;
  agent: Agent;
  machineId: string;
  proxyPath: string;
  lastLines?: number;
}) {
  const output = useQuery({
    queryKey: [...daemonKeys.agentOutput(machineId, agent.id), agent.status, agent.exitCode],
    queryFn: () => daemon.agentOutput(proxyPath, agent.id, 300),
    retry: retryDaemon,
  });
  const text = output.data ?? (output.isPending ? "Loading…" : "");
  const shown = lastLines === undefined ? text : lastLinesOf(text, lastLines);
  return (
    <div id={id} className="mt-3" data-testid={lastLines === undefined ? "agent-output" : "agent-last-lines"}>
      {lastLines !== undefined ? (
        <p className="mb-1.5 text-xs text-zinc-500">Its last lines before it exited:</p>
      ) : null}
      {output.error ? <ErrorText>{errorMessage(output.error)}</ErrorText> : null}
      <LogView text={shown} label={`Output of ${agent.name}`} empty="It left nothing on its screen." />
    </div>
  );
}
