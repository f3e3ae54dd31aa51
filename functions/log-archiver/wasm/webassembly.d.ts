// The WebAssembly JavaScript API members fast-extract.ts uses. Node has them all; TypeScript's
// "ES2023" lib declares none (they live in the DOM lib), and @types/node declares the namespace
// for types only.
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports: object);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
  }
}
