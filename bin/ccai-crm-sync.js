#!/usr/bin/env node
// Entry point of the `ccai-crm-sync` command. Node >= 22.19 runs the TypeScript sources directly.
await import('../src/cli/index.ts');
