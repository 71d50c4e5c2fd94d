#!/usr/bin/env node
// The CLI as one file (dist/cli/bundle.js, built by esbuild from tsc's output): Node 20 loads one
// module much faster than the forty it is made of (local ls: 10% of its start-up).
import { main } from '../dist/cli/bundle.js';

await main();
