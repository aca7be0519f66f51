// `train --config file.json`: the same settings as the flags, under their flag names
// (kebab-case), camelCase, or the reference script's names (num_epoch, LEARNING_RATE, ...).
// Flags given on the command line win over the file.
import fs from 'node:fs';

const REFERENCE_NAMES: Record<string, string> = {
  num_epoch: 'epochs',
  num_epochs: 'epochs',
  learning_rate: 'lr',
  cutoff_len: 'cutoff-len',
  lora_r: 'lora-r',
  lora_alpha: 'lora-alpha',
  lora_dropout: 'lora-dropout',
  val_set_size: 'val-set-size',
  target_modules: 'target-modules',
  micro_batch_size: 'micro-batch-size',
  gradient_accumulation_steps: 'grad-accum',
  gradient_checkpointing: 'gradient-checkpointing',
  num_train_data: 'num-train-data',
  max_steps: 'max-steps',
  warmup_steps: 'warmup-steps',
  max_grad_norm: 'max-grad-norm',
  weight_decay: 'weight-decay',
  logging_steps: 'logging-steps',
  save_steps: 'save-steps',
  save_total_limit: 'save-total-limit',
  eval_steps: 'eval-steps',
  lr_scheduler_type: 'lr-scheduler',
  model_name: 'model',
  dataset_dir: 'data',
  output_dir: 'out',
  ckpt_dir: 'out',
  seed: 'seed',
};

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Reads a config file into flag-named settings; `known` is the set of train flag names. */
export function readTrainConfig(file: string, known: Set<string>): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`config '${file}' cannot be read as JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`config '${file}' must be a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = REFERENCE_NAMES[key.toLowerCase()] ?? (known.has(key) ? key : kebab(key));
    if (!known.has(name)) throw new Error(`config '${file}': '${key}' is not a train setting`);
    out[name] = value;
  }
  return out;
}
