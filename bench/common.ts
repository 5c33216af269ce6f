// Small helpers every part of the benchmark uses.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const log = (text: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
