import { input, password } from "@inquirer/prompts";
import { Os2 } from "@os2/sdk";
import type { Command } from "commander";

import { configPath, readConfig, removeConfig, resolveCredentials, writeConfig } from "../config";
import { client } from "../context";
import { examples, printJson, UsageError } from "../output";

export function authCommands(program: Command): void {
  program
    .command("login")
    .description("save the control plane's URL and a project access token (asks for what is not given)")
    .option("--url <url>", "the os2 URL, e.g. https://os2.example.com")
    .option("--token <token>", "a project access token (pat_…), made under the project's Access tokens")
    .addHelpText(
      "after",
      examples("os2 login", "os2 login --url http://localhost:3001 --token pat_…") +
        `\nThe token is checked with the server, then saved to ${configPath()} (mode 0600).\n` +
        "OS2_URL and OS2_TOKEN, when set, override the saved values.\n",
    )
    .action(async (options: { url?: string; token?: string }) => {
      const interactive = process.stdin.isTTY && process.stderr.isTTY;
      const saved = readConfig();
      const ask = (what: string) => {
        if (!interactive) throw new UsageError(`--${what} is required when not run in a terminal`);
      };
      let url = options.url;
      if (!url) {
        ask("url");
        // Prompts go to stderr so stdout stays clean for scripts.
        url = await input(
          { message: "os2 URL", default: saved?.url ?? "http://localhost:3001" },
          { output: process.stderr },
        );
      }
      let token = options.token;
      if (!token) {
        ask("token");
        token = await password({ message: "Access token (pat_…)", mask: "*" }, { output: process.stderr });
      }
      url = url.trim().replace(/\/+$/, "");
      token = token.trim();
      if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must start with http:// or https://, got ${url}`);
      const project = await new Os2({ baseUrl: url, token }).project();
      writeConfig({ url, token });
      process.stderr.write(
        `Logged in to ${url}: project ${project.name} (${project.organization.name}/${project.slug}). Saved to ${configPath()}.\n`,
      );
    });

  program
    .command("logout")
    .description("forget the saved URL and token")
    .action(() => {
      const removed = removeConfig();
      process.stderr.write(removed ? `Removed ${configPath()}.\n` : "Not logged in.\n");
    });

  program
    .command("whoami")
    .description("show the server and the project the token belongs to")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      const credentials = resolveCredentials();
      const project = await client().project();
      if (options.json) return printJson({ url: credentials?.url, source: credentials?.source, project });
      process.stdout.write(
        `${credentials?.url}\nproject ${project.name} (${project.slug}, ${project.id})\n` +
          `organization ${project.organization.name} (${project.organization.slug})\n` +
          `credentials from ${credentials?.source === "file" ? configPath() : "OS2_URL/OS2_TOKEN"}\n`,
      );
    });
}
