/**
 * How every message and document spells a `sparkfn` command: `npx --no-install` runs this
 * project's own `sparkfn` and never falls through to a package of that name on the public
 * registry (plain `npx sparkfn` outside the project would fetch and run one).
 */
export const SPARKFN_COMMAND = 'npx --no-install sparkfn';
