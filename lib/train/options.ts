// The options of `train`, once: flags, defaults (the reference recipe's), ranges, help, the
// reference script's names for a config file, and what a resume may change.
import { TEMPLATES } from '../data/template.js';
import { defaults, type OptionTable, type OptionValues } from '../options.js';

const MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
const GGUF_MODULES = ['attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'] as const;

export const TRAIN_OPTIONS = {
  model: { group: 'Data', type: 'string', nonEmpty: true, required: true, describe: 'Base model (.gguf)', reference: ['model_name', 'base_model'] },
  data: { group: 'Data', type: 'string', nonEmpty: true, required: true, describe: 'Training records (JSON array or JSONL)', reference: ['dataset_dir', 'data_path'] },
  out: { group: 'Output', type: 'string', nonEmpty: true, required: true, describe: 'Output folder', reference: ['output_dir', 'ckpt_dir'] },
  device: { group: 'Memory plan', type: 'string', nonEmpty: true, default: 'auto', describe: 'cpu, cuda, auto or a device name (CUDA1)' },
  gradientCheckpointing: {
    group: 'Memory plan', type: 'boolean', reference: ['gradient_checkpointing'],
    describe: 'Recompute every block in the backward pass, as the reference (--no-gradient-checkpointing: keep all); default: as the memory plan fits',
  },
  keepBlocks: {
    group: 'Memory plan', type: 'int', min: 0,
    describe: 'With checkpointing, the last N residual blocks (2 per layer) keep their activations; default: as the memory plan fits',
  },
  memoryBudget: {
    group: 'Memory plan', type: 'number', above: 0,
    describe: 'GiB the run may hold on the device; the plan keeps as many activations as fit (default: its free memory)',
  },
  bf16Weights: {
    group: 'Memory plan', type: 'boolean',
    describe: 'Replace the quantized weights with bf16 copies on the GPU (faster, 2 bytes a weight); default: when the memory plan fits them',
  },
  epochs: { group: 'Schedule', type: 'number', above: 0, max: 1000, default: 1, resume: 'schedule', reference: ['num_epoch', 'num_epochs', 'num_train_epochs'], describe: 'Passes over the data' },
  maxSteps: { group: 'Schedule', type: 'int', min: 1, also: [-1], default: -1, resume: 'schedule', reference: ['max_steps'], describe: 'Optimizer steps (> 0 overrides --epochs)' },
  lr: { group: 'Schedule', type: 'number', min: 0, max: 10, default: 3e-4, resume: 'schedule', reference: ['learning_rate'], describe: 'Peak learning rate' },
  lrScheduler: { group: 'Schedule', type: 'string', choices: ['linear', 'cosine', 'constant'], default: 'linear', resume: 'schedule', reference: ['lr_scheduler_type'], describe: 'Decay after warm-up' },
  warmupSteps: { group: 'Schedule', type: 'int', min: 0, default: 50, resume: 'schedule', reference: ['warmup_steps'], describe: 'Steps of linear warm-up from 0' },
  microBatchSize: { group: 'Schedule', type: 'int', min: 1, max: 4096, default: 4, resume: 'same', reference: ['micro_batch_size', 'per_device_train_batch_size'], describe: 'Rows per micro-batch' },
  gradAccum: { group: 'Schedule', type: 'int', min: 1, max: 65536, default: 4, resume: 'same', reference: ['gradient_accumulation_steps'], describe: 'Micro-batches per optimizer step' },
  maxGradNorm: { group: 'Schedule', type: 'number', min: 0, default: 1, resume: 'schedule', reference: ['max_grad_norm'], describe: 'Clip the gradient norm to this (0 = no clipping)' },
  weightDecay: { group: 'Schedule', type: 'number', min: 0, default: 0, resume: 'schedule', reference: ['weight_decay'], describe: 'AdamW weight decay' },
  cutoffLen: { group: 'Data', type: 'int', min: 2, max: 1 << 20, default: 256, resume: 'same', reference: ['cutoff_len'], describe: 'Tokens per sample at most (and per packed row)' },
  loraR: { group: 'LoRA', type: 'int', min: 1, max: 4096, default: 8, resume: 'same', reference: ['lora_r'], describe: 'LoRA rank' },
  loraAlpha: { group: 'LoRA', type: 'number', above: 0, default: 16, resume: 'same', reference: ['lora_alpha'], describe: 'LoRA alpha (scale alpha / r)' },
  loraDropout: { group: 'LoRA', type: 'number', min: 0, below: 1, default: 0.05, resume: 'same', reference: ['lora_dropout'], describe: 'Dropout on the adapter input' },
  targetModules: {
    group: 'LoRA', type: 'strings', choices: [...MODULES, ...GGUF_MODULES], default: [...MODULES], resume: 'same', reference: ['target_modules'],
    describe: 'Projections that get an adapter',
  },
  numTrainData: { group: 'Data', type: 'int', min: 1, resume: 'same', reference: ['num_train_data'], describe: 'Use the first N records' },
  valSetSize: { group: 'Data', type: 'int', min: 0, default: 0, resume: 'same', reference: ['val_set_size'], describe: 'Records held out for eval loss (0 = none)' },
  evalSteps: { group: 'Output', type: 'int', min: 1, reference: ['eval_steps'], describe: 'Evaluate every N steps (default: --logging-steps)' },
  seed: { group: 'Schedule', type: 'int', min: 0, max: 0xffffffff, default: 42, resume: 'same', reference: ['seed'], describe: 'Shuffle, LoRA init and dropout seed' },
  trainOnPrompt: { group: 'Data', type: 'boolean', default: false, resume: 'same', reference: ['train_on_inputs'], describe: 'Also learn the prompt tokens' },
  template: { group: 'Data', type: 'string', choices: TEMPLATES, default: 'llama2', resume: 'same', describe: "Prompt template (model: the GGUF's own chat template)" },
  packing: { group: 'Data', type: 'boolean', default: true, resume: 'same', describe: '--no-packing pads every sample to --cutoff-len' },
  loggingSteps: { group: 'Output', type: 'int', min: 1, default: 20, reference: ['logging_steps'], describe: 'Log every N steps' },
  saveSteps: { group: 'Output', type: 'int', min: 1, default: 65, reference: ['save_steps'], describe: 'Checkpoint every N steps' },
  saveTotalLimit: { group: 'Output', type: 'int', min: 1, default: 3, reference: ['save_total_limit'], describe: 'Checkpoints kept at most' },
  resume: { group: 'Output', type: 'string', nonEmpty: true, reference: ['resume_from_checkpoint'], describe: 'Continue from a checkpoint folder of this run' },
  newSchedule: {
    group: 'Output', type: 'boolean', default: false,
    describe: 'With --resume: accept a changed schedule (lr, scheduler, warm-up, steps, epochs, clipping, weight decay)',
  },
  overwrite: { group: 'Output', type: 'boolean', default: false, describe: 'Replace an earlier run in --out (only the files a run writes)' },
} as const satisfies OptionTable;

export type TrainSettings = OptionValues<typeof TRAIN_OPTIONS>;

/** The reference recipe's defaults, as train() applies them. */
export const TRAIN_DEFAULTS = defaults(TRAIN_OPTIONS);
