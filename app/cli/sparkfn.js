#!/usr/bin/env node
// The `sparkfn` command. The sources are TypeScript; a checkout needs no build step: the first
// run compiles the CLI with esbuild into .cache/sparkfn-cli/<hash of the sources>/ (about a
// second), later runs load that copy directly (no compiler at start-up), and any change to a
// source gives a new hash, so a stale copy is never run. Without esbuild (an install without dev
// dependencies) or when the compile fails, the sources run through tsx as before.
import { launch } from './launcher.js';

process.exitCode = await launch(process.argv);
