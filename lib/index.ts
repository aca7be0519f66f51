// The public API of tang-lora.
export { info, inspect } from './system.js';
export type { DeviceInfo, GgufSummary, SystemInfo } from './system.js';
export { createModel, SHAPES, type CreateModelOptions, type ModelShape } from './model/create.js';
export { openTrainer, Trainer, type Batch, type LoraConfig, type TrainerOptions } from './engine/trainer.js';
export type { AdamWSettings, MicroBatchStats, TrainerInfo } from './engine/trainer.js';
export { openRunner, Runner, type AdapterRef, type RunnerOptions, type SamplingOptions } from './generate/runner.js';
export { train, TRAIN_DEFAULTS, type TrainOptions, type TrainResult, type MetricsLine } from './train/train.js';
export { loadRecords, parseRecords } from './data/records.js';
export { learningRate, type SchedulerKind } from './train/schedule.js';
export { quantize, QUANT_TYPES } from './model/quantize.js';
export { generatePoems, writeResults, TANG_INSTRUCTION, type PoemResult, type GenerateOptions } from './generate/poems.js';
export { evaluate, scorePoems, readResults, type EvalRun, type EvalSummary, type ScoredPoem } from './eval/evaluate.js';
export { chrF, charAccuracy, exactLines, checkForm, verses, type FormCheck } from './eval/score.js';
export { buildTangDataset, writeTangDataset, type TangDatasetOptions } from './data/dataset.js';
export { loadTangCorpus, FirstLineIndex, type TangPoem } from './data/corpus.js';
export type { GenerateEvents } from './generate/runner.js';
export { llama2Prompt, chatmlPrompt, promptTemplate, TEMPLATES, type TemplateName, type PoemRecord, type PromptTemplate } from './data/template.js';
