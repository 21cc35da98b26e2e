#!/usr/bin/env node
// The `agentgate` command (package.json bin): main.ts runs only when it is the entry
// file itself, which a bin symlink named `agentgate` is not.
import { runCli } from "./main.js";

process.exitCode = await runCli(process.argv.slice(2));
