// Where the tang-lora package lives (a checkout, or node_modules/tang-lora): its shipped files
// (data/, vocab/), its source build (build/), its scripts. This file compiles to dist/lib/.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
