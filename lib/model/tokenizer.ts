// The model room's tokenizer: a GGUF model's vocabulary through libllama, without its weights:
// tokenize, detokenize, the model's own chat template, and its special tokens. Data templates
// and training samples use it; the generation Runner is a Tokenizer with weights.
import { addon, type NativeRunner } from '../native/binding.js';
import { Serial } from '../native/serial.js';

export class Tokenizer implements AsyncDisposable {
  protected readonly serial: Serial<NativeRunner>;
  readonly nVocab: number;
  readonly eos: number;

  constructor(native: NativeRunner, what = 'Tokenizer') {
    this.serial = new Serial(native, what);
    ({ nVocab: this.nVocab, eos: this.eos } = native.info());
  }

  tokenize(text: string, { addSpecial = false } = {}): Promise<Int32Array> {
    return this.serial.run((n) => n.tokenize(text, addSpecial));
  }

  detokenize(tokens: ArrayLike<number>): Promise<string> {
    return this.serial.run((n) => n.detokenize(Int32Array.from(tokens)));
  }

  /** detokenize() at once, also while a generation runs (for its progress events). */
  detokenizeNow(tokens: ArrayLike<number>): string {
    return this.serial.now((n) => n.detokenize(Int32Array.from(tokens)));
  }

  /** The model's own chat template applied to a system and a user message (libllama). */
  chatPrompt(system: string, user: string): string {
    return this.serial.now((n) => n.chatPrompt(system, user));
  }

  dispose(): Promise<void> {
    return this.serial.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.serial.disposed ? Promise.resolve() : this.dispose();
  }
}

/** A model's tokenizer alone (no weights are loaded). */
export async function openTokenizer(model: string): Promise<Tokenizer> {
  return new Tokenizer(await addon().openRunner(model, [], { vocabOnly: true, device: 'cpu' }));
}
