#!/usr/bin/env node
// The CLI is TypeScript run by tsx's loader, like the rest of the repo: no build step to forget.
import { register } from "tsx/esm/api";

register();
await import("../src/main.ts");
