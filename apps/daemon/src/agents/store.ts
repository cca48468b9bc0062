import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { harnessSchema } from "@os2/protocol";
import { z } from "zod";

import { HttpError } from "../http/errors";
import { describePathError } from "../user";

/**
 * What is persisted about an agent. Its status is read from tmux while the session lives; what must outlive
 * the session (a machine restart ends every tmux server) is here and in the exit files (service.ts): when it
 * was last launched and whether the user stopped it since.
 */
export const agentRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  harness: harnessSchema,
  cwd: z.string(),
  prompt: z.string(),
  env: z.record(z.string(), z.string()),
  tmuxSession: z.string(),
  createdAt: z.string(),
  /** When the harness was last started; absent in files written before it was recorded. */
  launchedAt: z.string().optional(),
  /** Set when the user stops the agent, cleared when it starts again. */
  stoppedAt: z.string().optional(),
});
export type AgentRecord = z.infer<typeof agentRecordSchema>;

const fileSchema = z.object({ version: z.literal(1), agents: z.array(agentRecordSchema) });

/**
 * Agent definitions in one JSON file under the state directory, so a restarted daemon finds the agents whose
 * tmux sessions kept running. Writes go through a temp file and a rename, so a crash never leaves half a file.
 */
export class AgentStore {
  private agents: AgentRecord[] | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly stateDir: string) {}

  private get file() {
    return join(this.stateDir, "agents.json");
  }

  async list(): Promise<AgentRecord[]> {
    this.agents ??= await this.load();
    return [...this.agents];
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    return (await this.list()).find((a) => a.id === id);
  }

  add(agent: AgentRecord): Promise<void> {
    return this.mutate((agents) => [...agents, agent]);
  }

  /** Changes one agent's record (no-op when it is gone); returns the record as stored. */
  async update(id: string, patch: Partial<Omit<AgentRecord, "id">>): Promise<AgentRecord | undefined> {
    let updated: AgentRecord | undefined;
    await this.mutate((agents) =>
      agents.map((a) => {
        if (a.id !== id) return a;
        // An `undefined` in the patch removes the field, as it would from the JSON file.
        updated = agentRecordSchema.parse(JSON.parse(JSON.stringify({ ...a, ...patch })));
        return updated;
      }),
    );
    return updated;
  }

  /** Returns whether the agent existed. */
  async remove(id: string): Promise<boolean> {
    let existed = false;
    await this.mutate((agents) => {
      existed = agents.some((a) => a.id === id);
      return agents.filter((a) => a.id !== id);
    });
    return existed;
  }

  // Serialised so two concurrent requests cannot overwrite each other's change.
  private mutate(change: (agents: AgentRecord[]) => AgentRecord[]): Promise<void> {
    const run = this.queue.then(async () => {
      const next = change(await this.list());
      const tmp = `${this.file}.${process.pid}.tmp`;
      await mkdir(this.stateDir, { recursive: true }).catch((error: unknown) => {
        throw new HttpError(500, "internal", `${describePathError("create", this.stateDir, error)} (OS2_STATE_DIR)`);
      });
      try {
        await writeFile(tmp, JSON.stringify({ version: 1, agents: next }, null, 2));
        await rename(tmp, this.file);
      } catch (error) {
        throw new HttpError(500, "internal", `${describePathError("write", this.file, error)} (OS2_STATE_DIR)`);
      }
      this.agents = next;
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private async load(): Promise<AgentRecord[]> {
    const text = await readFile(this.file, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw new HttpError(500, "internal", `${describePathError("read", this.file, error)} (OS2_STATE_DIR)`);
    });
    if (text === undefined) return [];
    const parsed = fileSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${this.file} is not a valid agents file: ${parsed.error.message}`);
    return parsed.data.agents;
  }
}
