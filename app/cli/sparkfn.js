#!/usr/bin/env node
// The `sparkfn` command. Sources are TypeScript run through tsx, so a checkout works without a
// build step; deployable bundles are built separately with esbuild.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv);
