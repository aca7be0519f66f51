// Scores of one generated poem: against the true continuation (character accuracy by position,
// exact lines, chrF) and of its form (verse length, complete couplets, no repeated lines).
import { hanOnly } from '../data/corpus.js';

/** The verses (half-lines) of a text: its Han-character runs between punctuation marks. */
export function verses(text: string): string[] {
  return text.split(/[^\p{Script=Han}]+/u).filter(Boolean);
}

/** Fraction of the truth's characters (punctuation ignored) that the response has at the same position. */
export function charAccuracy(response: string, truth: string): number {
  const r = [...hanOnly(response)];
  const t = [...hanOnly(truth)];
  if (t.length === 0) return 0;
  return t.filter((c, i) => r[i] === c).length / t.length;
}

/** Verses of the truth that the response reproduces exactly, at the same position. */
export function exactLines(response: string, truth: string): { matched: number; total: number } {
  const r = verses(response);
  const t = verses(truth);
  return { matched: t.filter((v, i) => r[i] === v).length, total: t.length };
}

function ngrams(chars: string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= chars.length; i++) {
    const g = chars.slice(i, i + n).join('');
    m.set(g, (m.get(g) ?? 0) + 1);
  }
  return m;
}

/**
 * chrF (Popović 2015, sacreBLEU's default: character n-grams up to 6, beta 2, whitespace
 * removed): precision and recall averaged over the orders both texts are long enough for, then
 * their F-beta. 0..100.
 */
export function chrF(hypothesis: string, reference: string, { order = 6, beta = 2 } = {}): number {
  const hyp = [...hypothesis.replace(/\s+/g, '')];
  const ref = [...reference.replace(/\s+/g, '')];
  let precision = 0;
  let recall = 0;
  let orders = 0;
  for (let n = 1; n <= order; n++) {
    const h = ngrams(hyp, n);
    const r = ngrams(ref, n);
    const nHyp = Math.max(0, hyp.length - n + 1);
    const nRef = Math.max(0, ref.length - n + 1);
    if (nHyp === 0 || nRef === 0) continue;
    let match = 0;
    for (const [g, c] of h) match += Math.min(c, r.get(g) ?? 0);
    precision += match / nHyp;
    recall += match / nRef;
    orders++;
  }
  if (orders === 0) return 0;
  precision /= orders;
  recall /= orders;
  const b2 = beta * beta;
  return precision + recall > 0 ? (100 * (1 + b2) * precision * recall) / (b2 * precision + recall) : 0;
}

export interface FormCheck {
  verseLength: number | null; // 5 or 7, from the prompt's first line; null when it has neither
  lengthsOk: boolean; // every verse of the response has that length
  completeCouplets: boolean; // every sentence is two verses and the response ends on one
  noRepeats: boolean; // no verse appears twice in prompt + response
  ok: boolean;
}

/** Checks a response's form against the regular verse its prompt (the first line) sets. */
export function checkForm(prompt: string, response: string): FormCheck {
  const head = verses(prompt);
  const len = (v: string) => [...v].length;
  const n = head[0] ? len(head[0]) : 0;
  const verseLength = (n === 5 || n === 7) && head.every((v) => len(v) === n) ? n : null;
  const body = verses(response);
  const lengthsOk = verseLength !== null && body.length > 0 && body.every((v) => len(v) === verseLength);
  const text = response.trim();
  const sentences = text.split(/(?<=[。？！?!])/u).filter((s) => s.trim());
  const completeCouplets = sentences.length > 0 && /[。？！?!]$/u.test(text) && sentences.every((s) => verses(s).length === 2);
  const all = [...head, ...body];
  const noRepeats = new Set(all).size === all.length;
  return { verseLength, lengthsOk, completeCouplets, noRepeats, ok: lengthsOk && completeCouplets && noRepeats };
}
