// The memory plan: the arithmetic on made-up figures, and the engine's figures against what a
// step then holds.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { applyMemoryPlan, createModel, openTrainer, planMemory, stepBytes, type Batch, type MemoryNeeds } from '../lib/index.js';
import { checkPlanChoice, describePlan, stepCost } from '../lib/engine/memory-plan.js';
import { assertFails, runCli } from './helpers/cli.js';
import { makeFixtureModel } from './helpers/fixture-models.js';
import { device, expectCuda, repoRoot, scratchDir } from './helpers/paths.js';

const GiB = 2 ** 30;
// a 7B-like step: 4 GiB of weights, 64 blocks, 0.16 GiB per kept block, 16 MiB per stored input
const needs: MemoryNeeds = {
  freeBytes: 100 * GiB, totalBytes: 140 * GiB, heldBytes: 4 * GiB, slotBytes: 16 * 2 ** 20,
  headBytes: 0.4 * GiB, layerBytes: 0.32 * GiB, blockBytes: 0.3 * GiB, bf16ExtraBytes: 0, bf16SourceBytes: 0, scratchBytes: 0.35 * GiB, stepBytes: 0.08 * GiB, nBlocks: 64,
  sharedBuffers: false,
};

test('the plan keeps the most blocks that fit the budget', () => {
  assert.equal(planMemory(needs).keptBlocks, 64, 'a large card keeps every block');
  for (const budget of [7, 8, 10, 14.6]) {
    const p = planMemory(needs, budget);
    assert.ok(p.fits && p.keptBlocks > 0 && p.keptBlocks < 64, `${budget} GiB: ${p.keptBlocks}`);
    assert.ok(stepBytes(needs, p.keptBlocks) <= p.budgetBytes && stepBytes(needs, p.keptBlocks + 1) > p.budgetBytes, `${budget} GiB: the largest that fits`);
    assert.ok(p.budgetBytes < budget * GiB, 'a reserve stays out of the budget');
  }
  assert.ok(planMemory(needs, 8).keptBlocks < planMemory(needs, 14.6).keptBlocks);
  const cpu = { ...needs, sharedBuffers: true }; // one buffer for every graph: the largest of the kept part's, the recomputing ones' and the optimizer's
  assert.ok(Math.abs(stepBytes(needs, 0) - stepBytes(cpu, 0) - Math.min(needs.headBytes, needs.blockBytes) - needs.stepBytes) < 1);
  const tight = planMemory(needs, 4.5);
  assert.deepEqual([tight.keptBlocks, tight.fits], [0, false]);
  assert.match(describePlan(tight), /more than the budget/);
  assert.equal(planMemory({ ...needs, freeBytes: GiB }, 100).budgetFrom, '--memory-budget');
  assert.ok(planMemory({ ...needs, freeBytes: GiB }, 100).budgetBytes <= 5 * GiB, 'a budget above the device is capped at it');
  assert.match(describePlan(planMemory(needs)), /^memory plan: 64 of 64 blocks keep their activations \(none recomputed\): [\d.]+ GiB of [\d.]+ GiB \(free memory\)$/);
});

test('bf16 weight copies are planned when their saving beats the blocks their memory would keep', () => {
  const gpu = { ...needs, bf16ExtraBytes: 8.7 * GiB, bf16SourceBytes: 3.6 * GiB };
  const big = planMemory(gpu);
  assert.deepEqual([big.keptBlocks, big.bf16Weights], [64, true], 'a large card takes both');
  for (const budget of [8, 14.6, 20, 22, 24, 26]) {
    // the cheapest of every (kept, copies) pair that fits, searched here one by one
    const b = planMemory(gpu, budget).budgetBytes;
    let best = { cost: Infinity, kept: -1, bf16: false };
    for (const bf16 of [false, true]) {
      for (let kept = 0; kept <= 64; kept++) {
        const cost = stepCost(gpu, kept, bf16);
        if (stepBytes(gpu, kept, bf16) <= b && cost < best.cost) best = { cost, kept, bf16 };
      }
    }
    const p = planMemory(gpu, budget);
    assert.deepEqual([p.keptBlocks, p.bf16Weights], [best.kept, best.bf16], `${budget} GiB`);
  }
  assert.equal(planMemory(gpu, 8).bf16Weights, false, '8 GiB: the copies would leave no room for activations');
  assert.equal(planMemory(gpu, 26).bf16Weights, true);
  // the quantized weights sit beside their copies while those are made
  assert.equal(stepBytes({ ...gpu, bf16SourceBytes: 20 * GiB }, 64, true), gpu.heldBytes + gpu.bf16ExtraBytes + 20 * GiB);
  assert.deepEqual([planMemory(gpu, undefined, false).bf16Weights, planMemory(gpu, 8, true).bf16Weights], [false, true], 'as the user says');
  assert.equal(planMemory(gpu, 8, true).fits, false);
  assert.throws(() => planMemory(needs, undefined, true), /--bf16-weights needs a GPU and a quantized model/);
  assert.match(describePlan(big), /none recomputed\), bf16 weights: /);
});

// On the GPU the quantized products expand their weights on every call (ggml-cuda's kernels,
// patch 0007's for q4_K and q6_K); the copies are expanded once by ggml's CPU code: the same values.
test('bf16 weight copies give the products the values they expand to (GPU), and are refused on the CPU', async () => {
  const dir = scratchDir('memory-plan');
  const rows = 2, len = 16, n = rows * len;
  const tokens = new Int32Array(n).map((_, i) => 3 + ((i * 7919) % 31000));
  const b: Batch = { rows, tokens, labels: tokens, segments: new Int32Array(n) };
  const run = async (model: string, bf16: boolean) => {
    const t = await openTrainer(model, { rank: 4, alpha: 8, dropout: 0, seed: 5 }, { device });
    const before = (await t.info()).weightBytes;
    if (bf16) await t.useBf16Weights();
    const grown = (await t.info()).weightBytes - before;
    await t.trainMicroBatch(b);
    await t.optimizerStep({ lr: 1e-2 });
    const s = await t.trainMicroBatch(b);
    const g = await t.readTensor('blk.1.ffn_down.weight.lora_a.grad');
    await t.dispose();
    return { loss: s.loss, g, grown };
  };
  if (!expectCuda) {
    const t = await openTrainer(await makeFixtureModel(dir, 'q8_0'), { rank: 4 }, { device: 'cpu' });
    await assert.rejects(t.useBf16Weights(), /bf16 weight copies are for GPUs/);
    await t.dispose();
    return;
  }
  for (const type of ['q8_0', 'q4_k', 'q6_k'] as const) {
    const model = path.join(dir, `wide-${type}.gguf`); // K-quants need rows of 256
    if (!fs.existsSync(model)) await createModel(model, { shape: 'tiny', nEmbd: 256, nFf: 512, type, seed: 11 });
    const [q, w] = [await run(model, false), await run(model, true)];
    assert.ok(w.grown > 0, `${type}: the copies take more memory (${w.grown} bytes)`);
    assert.ok(Math.abs(w.loss - q.loss) <= 1e-5 * Math.abs(q.loss), `${type}: loss ${w.loss} vs ${q.loss}`);
    let worst = 0, norm = 0;
    for (let i = 0; i < q.g.length; i++) (worst = Math.max(worst, Math.abs(w.g[i]! - q.g[i]!))), (norm = Math.max(norm, Math.abs(q.g[i]!)));
    assert.ok(norm > 0 && worst <= 1e-4 * norm, `${type}: gradient max difference ${worst} of ${norm}`);
  }
});

test('flags that contradict the plan are refused', () => {
  assert.throws(() => checkPlanChoice({ gradientCheckpointing: false, keepBlocks: 2 }), /--keep-blocks needs gradient checkpointing/);
  assert.throws(() => checkPlanChoice({ memoryBudget: 8, keepBlocks: 2 }), /--memory-budget lets the memory plan choose/);
  assert.throws(() => checkPlanChoice({ memoryBudget: 8, gradientCheckpointing: true }), /--memory-budget/);
  assert.doesNotThrow(() => checkPlanChoice({ gradientCheckpointing: true, keepBlocks: 2 }));
});

test("the engine's figures bound what a step holds, and the plan sets what it recomputes", async () => {
  const model = await makeFixtureModel(scratchDir('memory-plan'), 'f32'); // 2 layers: 4 blocks
  const rows = 2, len = 32, n = rows * len;
  const tokens = new Int32Array(n).map((_, i) => 3 + ((i * 7919) % 31000));
  const b: Batch = { rows, tokens, labels: tokens, segments: new Int32Array(n) };
  const t = await openTrainer(model, { rank: 4, alpha: 8, dropout: 0.1 }, { device });
  const m = await t.measureMemory(rows, len);
  assert.equal(m.nBlocks, 4);
  assert.ok(m.heldBytes >= (await t.info()).weightBytes && m.slotBytes === 64 * n * 4 && m.layerBytes > 0, JSON.stringify(m));
  // (back to 0 last: a new plan frees the buffers of the one before)
  for (const [kept, graphs] of [[0, 6], [2, 4], [4, 1], [0, 6]] as const) {
    await t.setKeptBlocks(kept);
    assert.equal((await t.info()).keptBlocks, kept);
    const s = await t.trainMicroBatch(b);
    assert.equal(s.graphs, graphs, `${kept} kept`);
    const predicted = stepBytes(m, kept) - m.heldBytes - m.scratchBytes - (kept < 4 ? (4 - kept + 3) * m.slotBytes : 0);
    assert.ok(s.computeBytes <= predicted && predicted <= 1.5 * s.computeBytes, `${kept} kept: compute ${s.computeBytes} bytes, predicted ${predicted}`);
  }
  const plan = await applyMemoryPlan(t, { rows, len });
  assert.equal(plan.keptBlocks, 4, 'a tiny model keeps every block');
  assert.equal((await applyMemoryPlan(t, { rows, len, gradientCheckpointing: true })).keptBlocks, 0);
  assert.equal((await applyMemoryPlan(t, { rows, len, keepBlocks: 3 })).keptBlocks, 3);
  await assert.rejects(t.measureMemory(0, 8), /rows >= 1/);
  await assert.rejects(t.setKeptBlocks(-1), /whole number/);
  await t.dispose();
});

test('train prints its plan, and refuses a budget with the plan given by hand', async () => {
  const dir = scratchDir('memory-plan-cli');
  const model = await makeFixtureModel(dir, 'f32');
  const data = path.join(repoRoot, 'test', 'data', 'tang-32.json');
  const base = ['train', '--model', model, '--data', data, '--device', device, '--max-steps', '1'];
  const r = runCli(...base, '--out', path.join(dir, 'run'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^tang-lora: memory plan: 4 of 4 blocks keep their activations \(none recomputed\)/m);
  const given = runCli(...base, '--out', path.join(dir, 'run-given'), '--gradient-checkpointing', '--keep-blocks', '1');
  assert.equal(given.status, 0, given.stderr);
  assert.match(given.stdout, /memory plan: 1 of 4 blocks keep their activations \(3 recomputed\)/);
  const never = path.join(dir, 'never');
  assertFails(runCli(...base, '--out', never, '--memory-budget', '8', '--keep-blocks', '1'), 1, /--memory-budget lets the memory plan choose/);
  assertFails(runCli(...base, '--out', never, '--no-gradient-checkpointing', '--keep-blocks', '1'), 1, /--keep-blocks needs gradient checkpointing/);
  assertFails(runCli(...base, '--out', never, '--memory-budget', '0'), 2, /--memory-budget must be a number > 0, got 0/);
  if (!expectCuda) assertFails(runCli(...base, '--out', never, '--bf16-weights'), 1, /--bf16-weights needs a GPU and a quantized model/);
  assert.ok(!fs.existsSync(never), 'nothing written');
});
