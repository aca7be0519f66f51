// Learning-rate schedules with Hugging Face semantics: the rate of optimizer step `step`
// (0-based, counting steps already taken) is lr * lambda(step); warm-up rises linearly from 0.
export type SchedulerKind = 'linear' | 'cosine' | 'constant';

export interface Schedule {
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  kind: SchedulerKind;
}

export function learningRate(step: number, s: Schedule): number {
  if (step < s.warmupSteps) return (s.lr * step) / Math.max(1, s.warmupSteps);
  const progress = (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps);
  switch (s.kind) {
    case 'linear':
      return s.lr * Math.max(0, 1 - progress);
    case 'cosine':
      return s.lr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
    case 'constant':
      return s.lr;
  }
}
