// The memory plan of a training run, two trades of memory for speed:
// - how many residual blocks (two per layer) keep their activations through the backward pass;
//   the others are recomputed from their stored inputs (gradient checkpointing). A kept block
//   saves its recomputation: its step costs two passes instead of three.
// - on a GPU, bf16 copies of the quantized weights, which the products then read as they are
//   instead of expanding them on every call (EXPANSION_SHARE of a step's time).
// The plan takes the cheapest step (in those units) that fits the budget: every block kept and
// bf16 copies on a large card, some blocks kept on a small one, none when even that is tight.
//
// The figures come from the engine (Trainer.measureMemory), which sizes the step's graphs for the
// largest micro-batch of the run; the plan itself is arithmetic over them, here.
import type { MemoryNeeds } from '../native/binding.js';
import type { Trainer } from './trainer.js';

export type { MemoryNeeds } from '../native/binding.js';

const GiB = 2 ** 30;

/** Kept out of the budget for what the figures leave out: cuBLAS workspaces, the CUDA pool's
 * other temporaries (scratchBytes counts the largest), allocator fragmentation. */
export const RESERVE = { fraction: 0.05, bytes: 0.5 * GiB };

/** The share of a GPU step spent expanding quantized weights to bf16, which bf16 copies save
 * (7.2% measured on the 7B Q4_K with every block kept: docs/measurements.md, session 8). */
export const EXPANSION_SHARE = 0.07;

export interface MemoryPlan {
  keptBlocks: number; // of nBlocks; nBlocks = no recomputation
  nBlocks: number;
  bf16Weights: boolean;
  needBytes: number; // everything the step holds with this plan (weights, LoRA, activations)
  budgetBytes: number;
  budgetFrom: 'free memory' | '--memory-budget';
  fits: boolean; // false: even the smallest plan needs more than the budget
}

/** Device memory a run holds at its peak when the last `kept` blocks keep their activations:
 * what is allocated, the copies, and the larger of a step's buffers and, while the copies are
 * made, the quantized weights beside them. */
export function stepBytes(n: MemoryNeeds, kept: number, bf16 = false): number {
  const recomputed = n.nBlocks - kept;
  // the stored inputs of the recomputed blocks and of the first kept one, and two gradient slots
  const store = recomputed > 0 ? (recomputed + 3) * n.slotBytes : 0;
  // on a GPU each kind of graph keeps its own buffer (so that none waits for the last to allocate)
  const head = n.headBytes + (kept / 2) * n.layerBytes, recomputing = recomputed > 0 ? n.blockBytes : 0;
  const compute = n.sharedBuffers ? Math.max(head, recomputing, n.stepBytes) : head + recomputing + n.stepBytes;
  const step = store + compute + n.scratchBytes;
  return n.heldBytes + (bf16 ? n.bf16ExtraBytes + Math.max(step, n.bf16SourceBytes) : step);
}

/** A step's time in passes over the blocks (a kept block 2, a recomputed one 3), bf16 copies saving EXPANSION_SHARE. */
export function stepCost(n: MemoryNeeds, kept: number, bf16: boolean): number {
  return (3 * n.nBlocks - kept) * (bf16 ? 1 - EXPANSION_SHARE : 1);
}

function budget(n: MemoryNeeds, budgetGiB?: number): Pick<MemoryPlan, 'budgetBytes' | 'budgetFrom'> {
  const usable = n.heldBytes + n.freeBytes;
  const given = budgetGiB === undefined ? usable : Math.min(budgetGiB * GiB, usable);
  return { budgetBytes: Math.max(0, given - Math.max(RESERVE.bytes, RESERVE.fraction * given)), budgetFrom: budgetGiB === undefined ? 'free memory' : '--memory-budget' };
}

function plan(n: MemoryNeeds, keptBlocks: number, bf16Weights: boolean, b: Pick<MemoryPlan, 'budgetBytes' | 'budgetFrom'>): MemoryPlan {
  const needBytes = stepBytes(n, keptBlocks, bf16Weights);
  return { keptBlocks, nBlocks: n.nBlocks, bf16Weights, needBytes, ...b, fits: needBytes <= b.budgetBytes };
}

/** The cheapest plan whose step fits the budget: `budgetGiB` when given (capped at what the
 * device has), else what tang-lora holds plus the device's free memory; less RESERVE. */
export function planMemory(n: MemoryNeeds, budgetGiB?: number, bf16Weights?: boolean): MemoryPlan {
  const b = budget(n, budgetGiB);
  const options = bf16Options(n, bf16Weights).map((bf16) => {
    let kept = n.nBlocks;
    while (kept > 0 && stepBytes(n, kept, bf16) > b.budgetBytes) kept--;
    return plan(n, kept, bf16, b);
  });
  const fitting = options.filter((p) => p.fits);
  if (fitting.length === 0) return options[0]!;
  return fitting.reduce((best, p) => (stepCost(n, p.keptBlocks, p.bf16Weights) < stepCost(n, best.keptBlocks, best.bf16Weights) ? p : best));
}

/** The plan for a kept-block count the user chose (bf16 copies as asked, else when they fit too). */
export function fixedPlan(n: MemoryNeeds, keptBlocks: number, bf16Weights?: boolean): MemoryPlan {
  const kept = Math.min(keptBlocks, n.nBlocks);
  const b = budget(n);
  const options = bf16Options(n, bf16Weights).map((bf16) => plan(n, kept, bf16, b));
  return options.find((p) => p.bf16Weights && p.fits) ?? options.find((p) => !p.bf16Weights) ?? options[0]!;
}

/** bf16 copies: as the user said (true needs a GPU), else both ways where the engine offers them. */
function bf16Options(n: MemoryNeeds, bf16Weights?: boolean): boolean[] {
  if (bf16Weights === true && n.bf16ExtraBytes === 0) throw new Error('--bf16-weights needs a GPU and a quantized model');
  return bf16Weights !== undefined ? [bf16Weights] : n.bf16ExtraBytes > 0 ? [false, true] : [false];
}

/** "64 of 64 blocks keep their activations (none recomputed), bf16 weights: 15.2 GiB of 125.4 GiB (free memory)" */
export function describePlan(p: MemoryPlan): string {
  const what = p.keptBlocks === p.nBlocks ? 'none recomputed' : p.keptBlocks === 0 ? 'all recomputed' : `${p.nBlocks - p.keptBlocks} recomputed`;
  const gib = (b: number) => `${(b / GiB).toFixed(1)} GiB`;
  return `memory plan: ${p.keptBlocks} of ${p.nBlocks} blocks keep their activations (${what})${p.bf16Weights ? ', bf16 weights' : ''}: ` +
    `${gib(p.needBytes)} of ${gib(p.budgetBytes)} (${p.budgetFrom})` + (p.fits ? '' : '; that is more than the budget, the step may not fit');
}

export interface MemoryPlanChoice {
  rows: number; // the largest micro-batch: rows x len tokens
  len: number;
  gradientCheckpointing?: boolean; // false: keep every block; true: as keepBlocks (0 by default)
  keepBlocks?: number;
  memoryBudget?: number; // GiB, for the plan's own choice
  bf16Weights?: boolean; // bf16 copies of the quantized weights: always, never, or (undefined) as the plan fits
}

/** Refuses flags that contradict each other (before anything is loaded). */
export function checkPlanChoice(c: Omit<MemoryPlanChoice, 'rows' | 'len'>): void {
  if (c.gradientCheckpointing === false && c.keepBlocks !== undefined) throw new Error('--keep-blocks needs gradient checkpointing (--no-gradient-checkpointing keeps every block)');
  if (c.memoryBudget !== undefined && (c.gradientCheckpointing !== undefined || c.keepBlocks !== undefined)) {
    throw new Error('--memory-budget lets the memory plan choose: leave out --gradient-checkpointing and --keep-blocks');
  }
}

/** Sizes the step, decides (the user's explicit choice, else planMemory) and sets the trainer's plan. */
export async function applyMemoryPlan(trainer: Trainer, c: MemoryPlanChoice): Promise<MemoryPlan> {
  checkPlanChoice(c);
  const needs = await trainer.measureMemory(c.rows, c.len);
  const given = c.gradientCheckpointing === false ? needs.nBlocks : c.gradientCheckpointing || c.keepBlocks !== undefined ? (c.keepBlocks ?? 0) : undefined;
  const decide = (bf16?: boolean) => (given === undefined ? planMemory(needs, c.memoryBudget, bf16) : fixedPlan(needs, given, bf16));
  let p = decide(c.bf16Weights);
  if (p.bf16Weights) {
    try {
      await trainer.useBf16Weights();
    } catch (e) {
      if (c.bf16Weights) throw e;
      p = decide(false); // the copies did not fit after all: the plan without them
    }
  }
  await trainer.setKeptBlocks(p.keptBlocks);
  return p;
}
