// Which prebuilt variant of the addon to load: the newest CUDA one that the driver runs and
// whose code covers every GPU, else the next, and the CPU one last. Pure, so it is tested with
// faked probe results; loader.ts asks the driver (tang_probe.node) and tries them in this order.

/** What the NVIDIA driver offers (tang_probe.node's cuda()), or null: no driver, no GPU. */
export interface CudaProbe {
  driverVersion: number; // 1000 * major + 10 * minor: 13000 = CUDA 13.0
  devices: { name: string; major: number; minor: number }[];
}

/** An installed variant: its name and its CUDA build (from build-info.json). */
export interface VariantInfo {
  variant: string; // 'cpu', 'cuda12', 'cuda13'
  cudaVersion?: number | null; // the toolkit's major version
  architectures?: { sass: number[]; ptx: number[] } | null; // e.g. sass [80, 86], ptx [120]
}

export interface Choice {
  variant: string;
  why: string;
}

/** Does code of these architectures run on a GPU of compute capability major.minor? */
export function covers(archs: { sass: number[]; ptx: number[] }, major: number, minor: number): boolean {
  const cc = 10 * major + minor;
  // SASS runs on its own major version at the same or a later minor; PTX is compiled for any later GPU
  return archs.sass.some((a) => Math.floor(a / 10) === major && a <= cc) || archs.ptx.some((a) => a <= cc);
}

/** The variants to try, best first, each with the reason; `forced` (TANG_LORA_VARIANT) alone if given. */
export function chooseVariants(installed: VariantInfo[], probe: CudaProbe | null, forced?: string): Choice[] {
  if (forced) {
    if (!installed.some((v) => v.variant === forced)) {
      throw new Error(`TANG_LORA_VARIANT=${forced}, but no such prebuilt is installed (${installed.map((v) => v.variant).join(', ') || 'none'})`);
    }
    return [{ variant: forced, why: 'forced by TANG_LORA_VARIANT' }];
  }
  const out: Choice[] = [];
  const skipped: string[] = [];
  const cudas = installed.filter((v) => v.cudaVersion).sort((a, b) => b.cudaVersion! - a.cudaVersion!);
  const driver = probe ? `${Math.floor(probe.driverVersion / 1000)}.${(probe.driverVersion % 1000) / 10}` : '';
  for (const v of cudas) {
    if (!probe || probe.devices.length === 0) continue;
    const uncovered = probe.devices.filter((d) => !v.architectures || !covers(v.architectures, d.major, d.minor));
    if (probe.driverVersion < 1000 * v.cudaVersion!) skipped.push(`${v.variant}: the driver supports CUDA ${driver}`);
    else if (uncovered.length > 0) skipped.push(`${v.variant}: no code for ${uncovered.map((d) => `${d.name} (${d.major}.${d.minor})`).join(', ')}`);
    else out.push({ variant: v.variant, why: `a driver for CUDA ${driver} and ${probe.devices.map((d) => `${d.name} (${d.major}.${d.minor})`).join(', ')}` });
  }
  if (installed.some((v) => v.variant === 'cpu')) {
    const why = !probe ? 'no NVIDIA driver' : probe.devices.length === 0 ? 'no NVIDIA GPU' : skipped.length ? skipped.join('; ') : out.length ? 'after the CUDA variants' : 'no CUDA variant installed';
    out.push({ variant: 'cpu', why });
  }
  return out;
}
