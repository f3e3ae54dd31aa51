#!/usr/bin/env node
// The `sparkfn` command. The sources are TypeScript; a checkout needs no build step: the first
// start compiles the CLI with esbuild into .cache/sparkfn-cli/ (about a
// second), later starts load that copy directly (no compiler at start-up); when a file it was
// compiled from changed, the next start compiles again, so a stale copy never runs. Without esbuild (an install without dev
// dependencies) or when the compile fails, the sources run through tsx as before.
import { launch } from './launcher.js';

process.exitCode = await launch(process.argv);
