// The public API of tang-lora.
export { info, inspect } from './system.js';
export type { DeviceInfo, GgufSummary, SystemInfo } from './system.js';
