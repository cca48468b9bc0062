/**
 * `node /opt/os2/prepare-workspace.js`: runs `pnpm install` in the workspace when its lockfile changed since
 * the last install (workspace-lockfile.ts), and records the hash. The boot (entry.sh) runs it only when its
 * own comparison of the hashes differs; the image build runs it once to record the built workspace's hash.
 */
import { prepareWorkspace } from "./workspace-lockfile";

const workspaceDir = process.env.OS2_WORKSPACE_DIR ?? "/workspace";
const stateFile = `${process.env.OS2_STATE_DIR ?? "/var/lib/os2"}/workspace-lockfile.sha256`;

await prepareWorkspace({ workspaceDir, stateFile });
