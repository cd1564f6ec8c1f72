// Reads run.mjs's JSON lines on stdin; prints them without vectors, then each ayuda run's ratios
// to the peer (transformers.js q8 running all-MiniLM-L6-v2; the median of its runs, which come
// before and after ours, as the machine is noisy), the agreement between the two engines'
// vectors (mean and min cosine), and whether ayuda's two wasm builds (relaxed SIMD, simd128)
// gave the same vectors.
import { createInterface } from 'node:readline';
const results = [];
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim()) results.push(JSON.parse(line));
}
for (const r of results) console.log(JSON.stringify({ ...r, vectors: undefined }));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2; };
const peers = results.filter((r) => r.engine === 'transformers.js');
const ayuda = results.filter((r) => r.engine === 'ayuda');
if (peers.length) {
  const peer = Object.fromEntries(['p50_ms', 'p90_ms', 'ready_ms', 'bytes'].map((k) => [k, median(peers.map((p) => p[k]))]));
  for (const ours of ayuda) {
    const ratio = (k) => +(ours[k] / peer[k]).toFixed(3);
    // The multilingual model does twice the work (12 layers): its ratios to the same peer say
    // what Spanish costs.
    const multi = /multilingual/.test(ours.model || '');
    const line = { model: ours.model, kernels: ours.kernels, p50_ms: ratio('p50_ms'), p90_ms: ratio('p90_ms'), ready_ms: ratio('ready_ms'), bytes: ratio('bytes') };
    if (!multi) {
      const cos = ours.vectors.map((v, i) => {
        const w = peers[0].vectors[i];
        let d = 0, a = 0, b = 0;
        for (let k = 0; k < v.length; k++) { d += v[k] * w[k]; a += v[k] * v[k]; b += w[k] * w[k]; }
        return d / Math.sqrt(a * b);
      });
      line.cosine_between_engines = { mean: +(cos.reduce((s, c) => s + c, 0) / cos.length).toFixed(5), min: +Math.min(...cos).toFixed(5) };
    }
    const key = `ratio_${multi ? 'multilingual' : 'ayuda'}${ours.kernels === 'simd128' ? '_simd128' : ''}_to_peer`;
    console.log(JSON.stringify({ [key]: line }));
  }
}
// The relaxed-SIMD and simd128 builds must give the same vectors, bit for bit.
for (const a of ayuda) {
  for (const b of ayuda) {
    if (a.model === b.model && a.kernels !== b.kernels && a.kernels.startsWith('relaxed-simd')) {
      const same = a.vectors.every((v, i) => v.every((x, k) => x === b.vectors[i][k]));
      console.log(JSON.stringify({ same_vectors_both_builds: { model: a.model, same } }));
    }
  }
}
