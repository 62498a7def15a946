import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflows } from '../../workflows/worker.js';

/**
 * `npm run build` writes the workflow bundle once (webpack, seconds), so a production worker starts from it
 * (`WORKFLOW_BUNDLE=dist/workflow-bundle.js`) instead of bundling at every start. The bundle is made from
 * the same sources as the activities beside it: build it in the same image.
 */
const target = path.resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
const { code } = await bundleWorkflows();
await mkdir(path.dirname(target), { recursive: true });
await writeFile(target, code);
process.stdout.write(`${target} (${Math.round(code.length / 1024)} KiB)\n`);
